using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The RocksDB engine (the embedded default) in a temporary folder, deleted afterwards; its suites always run.</summary>
public sealed class RocksDbChatStoreEngine : IChatStoreEngine, IDisposable
{
    private readonly string _directory = TempDirectory.Create();

    public RocksDbChatStoreEngine() => Database = new RocksDbDatabase(Path.Combine(_directory, "data"));

    public RocksDbDatabase Database { get; }

    public async Task<ChatStorePorts> OpenAsync()
    {
        var heads = new SequenceHeads();
        var store = new RocksDbChatStore(Database, heads);
        await store.InitializeAsync();
        return new ChatStorePorts(store, new RocksDbTimelineStore(Database), new RocksDbInboxStore(Database),
            new RocksDbConversationIndex(Database), new RocksDbCursorStore(Database), heads) { States = new Messaging.Operations.RocksDbMessageStateStore(Database) };
    }

    public void Dispose()
    {
        Database.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class RocksDbTimelineStoreContractTests(RocksDbChatStoreEngine engine) : TimelineStoreContract(engine), IClassFixture<RocksDbChatStoreEngine>;

public sealed class RocksDbInboxStoreContractTests(RocksDbChatStoreEngine engine) : InboxStoreContract(engine), IClassFixture<RocksDbChatStoreEngine>;

public sealed class RocksDbConversationIndexContractTests(RocksDbChatStoreEngine engine) : ConversationIndexContract(engine), IClassFixture<RocksDbChatStoreEngine>;

public sealed class RocksDbCursorStoreContractTests(RocksDbChatStoreEngine engine) : CursorStoreContract(engine), IClassFixture<RocksDbChatStoreEngine>;

/// <summary>The store-as-a-unit contract on RocksDB, plus what only its atomic batches promise.</summary>
public sealed class RocksDbChatStoreBatchContractTests(RocksDbChatStoreEngine engine) : ChatStoreBatchContract(engine), IClassFixture<RocksDbChatStoreEngine>
{
    [Fact]
    public async Task A_batch_is_invisible_until_it_commits_and_then_visible_whole()
    {
        var store = await engine.OpenAsync();
        var conv = $"s:batch.{Guid.NewGuid():n}:zz";
        var message = new Messaging.MessageAccepted(42_000_000_001L + Random.Shared.Next(1_000_000), conv, 0, "alice", "phone", 1, "zz", 1,
            System.Text.Json.JsonDocument.Parse("{}").RootElement.Clone(), null, 1);
        using var batch = store.BeginBatch();
        var sent = await batch.ReserveSendsAsync([new Messaging.SendRecord($"batch.{conv}", "phone", 1, message.Id, conv, 1)]);
        var stored = await batch.AppendMessagesAsync([message]);
        var entries = await batch.AppendInboxAsync([new Messaging.InboxAppend($"batch.{conv}", stored[0])]);
        Assert.Equal(1, stored[0].Cseq);
        Assert.Equal(1, entries[0].Seq);
        Assert.Empty(await store.ReadConversationAsync(conv, null, null, 10));
        Assert.Equal(0, await store.GetInboxHeadAsync($"batch.{conv}"));

        await batch.CommitAsync();
        Assert.Equal([message.Id], (await store.ReadConversationAsync(conv, null, null, 10)).Select(m => m.Id));
        Assert.Equal(1, await store.GetInboxHeadAsync($"batch.{conv}"));
        Assert.Equal(sent[0].Id, (await store.ReserveSendsAsync([sent[0] with { Id = 7 }]))[0].Id);
    }
}

public sealed class RocksDbSequenceHeadsContractTests(RocksDbChatStoreEngine engine) : SequenceHeadsContract(engine), IClassFixture<RocksDbChatStoreEngine>;

/// <summary>The group store contract on RocksDB; always runs.</summary>
public sealed class RocksDbGroupStoreContractTests(RocksDbChatStoreEngine engine)
    : GroupStoreContract<RocksDbGroupStore>, IClassFixture<RocksDbChatStoreEngine>
{
    protected override async Task<RocksDbGroupStore> OpenStoreAsync()
    {
        var store = new RocksDbGroupStore(engine.Database);
        await store.InitializeAsync();
        return store;
    }
}
