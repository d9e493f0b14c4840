using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The index rows RocksDB batches keep in memory (<see cref="RocksDbIndexRowCache"/>): a row the cache let go is read
/// from the database again, and what a batch finds there or in the cache is what it would have read.
/// </summary>
public sealed class RocksDbIndexRowCacheTests : ChatStoreContractBase, IDisposable
{
    private readonly RocksDbChatStoreEngine _engine;

    public RocksDbIndexRowCacheTests() : this(new RocksDbChatStoreEngine()) { }

    private RocksDbIndexRowCacheTests(RocksDbChatStoreEngine engine) : base(engine) => _engine = engine;

    public void Dispose() => _engine.Dispose();

    [Fact]
    public void A_full_generation_becomes_the_old_one_and_the_one_before_it_is_forgotten()
    {
        var cache = new RocksDbIndexRowCache(capacity: 2);
        cache.SetRow("u", "a", new(1, 10, 1));
        cache.SetRow("u", "b", new(2, 20, 2));
        cache.SetRow("u", "c", new(3, 30, 3));
        Assert.True(cache.TryGetRow("u", "a", out var a));
        Assert.Equal(new RocksDbIndexRowCache.Row(1, 10, 1), a);

        cache.SetRow("u", "a", new(4, 40, 4));
        cache.SetRow("u", "d", new(5, 50, 5));
        Assert.False(cache.TryGetRow("u", "b", out _));
        Assert.True(cache.TryGetRow("u", "a", out a));
        Assert.Equal(new RocksDbIndexRowCache.Row(4, 40, 4), a);

        cache.Clear();
        Assert.False(cache.TryGetRow("u", "a", out _));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(RocksDbIndexRowCache.DefaultCapacity)]
    public async Task Rows_moved_batch_after_batch_list_once_each_newest_first_with_every_message_counted(int capacity)
    {
        // With two rows a generation the cache keeps letting rows go (read again); with the default it keeps them all.
        _engine.Database.IndexRowCache = new RocksDbIndexRowCache(capacity);
        var store = await OpenStoreAsync();
        var me = User("rc");
        var convs = Enumerable.Range(0, 6).Select(i => Conversation($"rc{i}")).ToArray();
        var newest = new Dictionary<string, long>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var conv in convs)
            {
                var message = (await StoreAsync(store, Accepted(conv, from: "other")))[0];
                newest[conv] = message.Id;
                using var batch = store.BeginBatch();
                await batch.UpdateConversationsAsync([To(me, message)]);
                await batch.CommitAsync();
            }
        }

        var listed = await store.ListConversationsAsync(me, null, 20);
        Assert.Equal(convs.Reverse(), listed.Select(e => e.State.Conv));
        Assert.All(listed, e => Assert.Equal((3L, 3L, newest[e.State.Conv]), (e.State.LastCseq, e.State.Unread, e.Last.Id)));
    }
}
