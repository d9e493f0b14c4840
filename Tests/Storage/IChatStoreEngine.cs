namespace AspireChat.Tests.Storage;

/// <summary>
/// A storage engine for the chat store's contract suites, as a class fixture: one database per test class, and every
/// port of the engine over it. A new engine adds one fixture and one small subclass per suite.
/// </summary>
public interface IChatStoreEngine
{
    /// <summary>A new, initialized store instance over the class's database: empty caches (its own heads), earlier instances' data.</summary>
    Task<ChatStorePorts> OpenAsync();

    /// <summary>
    /// Completes once a writer of this engine waits on another's uncommitted write (a row lock), so a test can commit the
    /// other while the first waits; never, for an engine whose writers do not wait on each other.
    /// </summary>
    Task WriterWaitsAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
}
