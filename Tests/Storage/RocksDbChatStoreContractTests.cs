using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The store contract against <see cref="RocksDbChatStore"/> (the embedded default) in a temporary folder; always runs.</summary>
public sealed class RocksDbChatStoreContractTests(RocksDbChatStoreContractTests.TemporaryDatabase database)
    : ChatStoreContract, IClassFixture<RocksDbChatStoreContractTests.TemporaryDatabase>
{
    protected override async Task<IChatStore> OpenStoreAsync()
    {
        var store = new RocksDbChatStore(database.Database);
        await store.InitializeAsync();
        return store;
    }

    [Fact]
    public async Task A_batch_is_invisible_until_it_commits_and_then_visible_whole()
    {
        var store = new RocksDbChatStore(database.Database);
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

    /// <summary>One RocksDB database for the test class, deleted afterwards.</summary>
    public sealed class TemporaryDatabase : IDisposable
    {
        private readonly string _directory = TempDirectory.Create();

        public TemporaryDatabase() => Database = new RocksDbDatabase(Path.Combine(_directory, "data"));

        public RocksDbDatabase Database { get; }

        public void Dispose()
        {
            Database.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}

/// <summary>The group store contract on RocksDB; always runs.</summary>
public sealed class RocksDbGroupStoreContractTests(RocksDbChatStoreContractTests.TemporaryDatabase database)
    : GroupStoreContract, IClassFixture<RocksDbChatStoreContractTests.TemporaryDatabase>
{
    protected override async Task<IGroupStore> OpenStoreAsync()
    {
        var store = new RocksDbGroupStore(database.Database);
        await store.InitializeAsync();
        return store;
    }
}
