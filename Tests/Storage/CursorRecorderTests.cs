using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

public sealed class CursorRecorderTests(RocksDbChatStoreEngine database)
    : IClassFixture<RocksDbChatStoreEngine>
{
    [Fact]
    public async Task Acked_cursors_are_readable_at_once_and_written_in_one_flush_never_backwards()
    {
        var store = new RocksDbCursorStore(database.Database);
        var recorder = new CursorRecorder(store);
        var user = $"u{Guid.NewGuid():n}";

        recorder.Record(user, "phone", 5);
        recorder.Record(user, "phone", 3);
        recorder.Record(user, "laptop", 2);
        Assert.Equal(5, await recorder.GetAsync(user, "phone"));
        Assert.Null(await store.GetCursorAsync(user, "phone"));

        Assert.Equal(2, await recorder.FlushAsync());
        Assert.Equal(5, await store.GetCursorAsync(user, "phone"));
        Assert.Equal(2, await store.GetCursorAsync(user, "laptop"));

        recorder.Record(user, "phone", 4);
        await recorder.FlushAsync();
        Assert.Equal(5, await store.GetCursorAsync(user, "phone"));
        Assert.Equal(0, await recorder.FlushAsync());
    }
}
