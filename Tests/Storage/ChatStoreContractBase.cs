using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// What the chat store's contract suites share (docs/protocol.md §9, docs/data-model.md, README.md): the engine, which
/// opens the store's ports over one database per test class, and the records the tests write. Tests keep apart by using
/// their own conversations, users and ids, so they may share that database.
/// </summary>
public abstract class ChatStoreContractBase(IChatStoreEngine engine)
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];
    // Above 2^53 on purpose: ids must survive as 64-bit integers, not doubles.
    private long _nextId = (1L << 60) + (Random.Shared.NextInt64(1L << 40) << 16);

    /// <summary>A new store instance over the class's database, initialized: empty caches, earlier instances' data.</summary>
    protected Task<ChatStorePorts> OpenStoreAsync() => engine.OpenAsync();

    /// <summary>The engine under test, for what a suite asks of it beyond opening stores.</summary>
    protected IChatStoreEngine Engine => engine;

    protected static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    protected string User(string name) => $"{name}.{_run}";

    protected string Conversation(string name) => $"s:{name}.{_run}:zz.{_run}";

    protected MessageAccepted Accepted(string conv, string text = "hi", string from = "alice", JsonElement? ex = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        return new MessageAccepted(id, conv, 0, User(from), "phone", id & 0xFFFF, User("bob"), 1,
            Json($$"""{"text":{{JsonSerializer.Serialize(text)}}}"""), ex, Now);
    }

    protected SendRecord Send(string user, long req, long? ts = null, string device = "phone") =>
        new(User(user), device, req, Interlocked.Increment(ref _nextId), Conversation("sends"), ts ?? Now);

    protected static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    protected static InboxAppend To(string user, ChatMessage message) => new(user, message);

    protected static async Task<ChatMessage[]> StoreAsync(ChatStorePorts store, params MessageAccepted[] accepted) => [.. await store.AppendMessagesAsync(accepted)];
}
