namespace AspireChat.Tests.Storage;

/// <summary>
/// A storage engine for the chat store's contract suites, as a class fixture: one database per test class, and every
/// port of the engine over it. A new engine adds one fixture and one small subclass per suite.
/// </summary>
public interface IChatStoreEngine
{
    /// <summary>A new, initialized store instance over the class's database: empty caches (its own heads), earlier instances' data.</summary>
    Task<ChatStorePorts> OpenAsync();
}
