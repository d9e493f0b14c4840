using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="ICursorStore"/> contract: device cursors that move forward only, and the send records stage 0 dedups on.
/// Every engine runs it through a subclass named for the engine that supplies its <see cref="IChatStoreEngine"/>.
/// </summary>
public abstract class CursorStoreContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    [SkippableFact]
    public async Task A_device_cursor_moves_forward_only()
    {
        var store = await OpenStoreAsync();
        var user = User("ken");

        Assert.Null(await store.GetCursorAsync(user, "phone"));
        await store.AdvanceCursorAsync(user, "phone", 5);
        Assert.Equal(5, await store.GetCursorAsync(user, "phone"));
        await store.AdvanceCursorAsync(user, "phone", 3);
        Assert.Equal(5, await store.GetCursorAsync(user, "phone"));
        await store.AdvanceCursorAsync(user, "phone", 5);
        await store.AdvanceCursorAsync(user, "phone", 9);
        Assert.Equal(9, await store.GetCursorAsync(user, "phone"));

        Assert.Null(await store.GetCursorAsync(user, "laptop"));
        await store.AdvanceCursorAsync(user, "laptop", 2);
        Assert.Equal(2, await store.GetCursorAsync(user, "laptop"));
        Assert.Null(await store.GetCursorAsync(User("someone-else"), "phone"));
        var fresh = await OpenStoreAsync();
        await fresh.AdvanceCursorAsync(user, "phone", 1);
        Assert.Equal(9, await fresh.GetCursorAsync(user, "phone"));
    }

    [SkippableFact]
    public async Task Reserving_a_send_again_returns_the_original_record()
    {
        var store = await OpenStoreAsync();
        var original = Send("lena", 1);
        Assert.Equal([original], await store.ReserveSendsAsync([original]));

        var retransmit = original with { Id = original.Id + 1000, Conv = Conversation("elsewhere"), Ts = original.Ts + 5 };
        var otherDevice = Send("lena", 1, device: "laptop");
        var otherUser = Send("mike", 1);
        var reserved = await store.ReserveSendsAsync([retransmit, otherDevice, otherUser]);
        Assert.Equal([original, otherDevice, otherUser], reserved);

        // Twice in one batch: the first is reserved, the second gets it back.
        var twice = Send("lena", 2);
        Assert.Equal([twice, twice], await store.ReserveSendsAsync([twice, twice with { Id = twice.Id + 1000 }]));
        Assert.Equal([original, twice], await (await OpenStoreAsync()).ReserveSendsAsync([retransmit, twice with { Ts = twice.Ts + 1 }]));
    }

    [SkippableFact]
    public async Task Purging_removes_only_older_send_records_and_frees_their_keys()
    {
        var store = await OpenStoreAsync();
        var now = Now;
        var old = Send("nina", 1, ts: now - 2 * 3_600_000);
        var recent = Send("nina", 2, ts: now - 60_000);
        await store.ReserveSendsAsync([old, recent]);

        Assert.Equal(1, await store.PurgeSendRecordsAsync(now - 3_600_000));
        Assert.Equal(0, await store.PurgeSendRecordsAsync(now - 3_600_000));

        var reused = old with { Id = old.Id + 1000, Ts = now };
        var retransmit = recent with { Id = recent.Id + 1000, Ts = now };
        Assert.Equal([reused, recent], await store.ReserveSendsAsync([reused, retransmit]));
    }
}
