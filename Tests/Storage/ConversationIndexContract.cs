using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="IConversationIndex"/> contract (docs/protocol.md §12.8): index rows moved by stage 2, the list by last activity, read and delivered positions that move forward only.
/// Every engine runs it through a subclass named for the engine that supplies its <see cref="IChatStoreEngine"/>.
/// </summary>
public abstract class ConversationIndexContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    [SkippableFact]
    public async Task An_index_row_holds_the_newest_message_and_counts_only_others_messages_that_are_not_events()
    {
        var store = await OpenStoreAsync();
        var (me, conv) = (User("ix1"), Conversation("ix1"));
        var messages = await StoreAsync(store, Accepted(conv, "a", from: "other1"), Accepted(conv, "mine", from: "ix1"),
            Accepted(conv, "added", from: "other1") with { Type = -2 }, Accepted(conv, "c", from: "other1"));

        await store.UpdateConversationsAsync([.. messages.Select(m => To(me, m))]);

        var entry = Assert.Single(await store.ListConversationsAsync(me, null, 10));
        Assert.Equal((conv, 4L, messages[3].Id), (entry.State.Conv, entry.State.LastCseq, entry.Last.Id));
        Assert.True(entry.State.Activity >= messages[3].Ts);
        Assert.Equal("c", entry.Last.Body.GetProperty("text").GetString());
        Assert.Equal((2L, 0L), (entry.State.Unread, entry.State.Read));
        Assert.Equal(entry.State, await store.GetConversationAsync(me, conv));
    }

    [SkippableFact]
    public async Task Updating_the_index_again_with_messages_it_already_holds_changes_nothing()
    {
        var store = await OpenStoreAsync();
        var (me, conv) = (User("ix2"), Conversation("ix2"));
        var m = await StoreAsync(store, Accepted(conv, from: "other2"), Accepted(conv, from: "other2"), Accepted(conv, from: "other2"));

        await store.UpdateConversationsAsync([To(me, m[0]), To(me, m[1]), To(me, m[2])]);
        await store.UpdateConversationsAsync([To(me, m[1]), To(me, m[2])]);
        await store.UpdateConversationsAsync([To(me, m[0])]);

        var state = Assert.Single(await store.ListConversationsAsync(me, null, 10)).State;
        Assert.Equal((3L, 3L), (state.LastCseq, state.Unread));
    }

    /// <summary>
    /// Two workers of one user's inbox partition (it moved mid-batch) update the same row from the same read: the first
    /// has read the row and holds its write (uncommitted in a batch, or paused between its read and its write where the
    /// engine makes them in two round trips) while the second reads the row as it was, and the first's write lands
    /// between the second's read and the second's write — or the other way round. Each message is counted once, and
    /// the row ends at the newest message whichever writer lands last.
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_writers_that_read_one_row_before_either_wrote_count_each_message_once_and_never_move_it_back(bool firstHoldsMore)
    {
        var (w1, w2) = (await OpenStoreAsync(), await OpenStoreAsync());
        var (me, conv) = (User($"ix9{firstHoldsMore}"), Conversation($"ix9{firstHoldsMore}"));
        var m = await StoreAsync(w1, [.. Enumerable.Range(0, 4).Select(_ => Accepted(conv, from: "other9"))]);
        await w1.UpdateConversationsAsync([To(me, m[0])]);
        InboxAppend[] fewer = [To(me, m[1]), To(me, m[2])], more = [To(me, m[1]), To(me, m[2]), To(me, m[3])];
        var (first, second) = firstHoldsMore ? (more, fewer) : (fewer, more);

        w1.IndexWrites.Hold();
        using var one = w1.BeginBatch();
        var firstUpdate = one.UpdateConversationsAsync(first).AsTask();
        await Wait.ForAsync(Task.WhenAny(firstUpdate, w1.IndexWrites.Reached), "the first writer reads the row");
        var secondWrite = Task.Run(async () =>
        {
            using var two = w2.BeginBatch();
            await two.UpdateConversationsAsync(second);
            await two.CommitAsync();
        });
        // The second writer has read the row as it was: it is done, or it waits on the first's row lock.
        using (var stopWaiting = new CancellationTokenSource())
        {
            await Wait.ForAsync(Task.WhenAny(secondWrite, Engine.WriterWaitsAsync(stopWaiting.Token)), "the second writer reads the row");
            await stopWaiting.CancelAsync();
        }
        w1.IndexWrites.Release();
        await firstUpdate;
        await one.CommitAsync();
        await Wait.ForAsync(secondWrite, "the second writer finishes");

        var entry = Assert.Single(await w1.ListConversationsAsync(me, null, 10));
        Assert.Equal((4L, 4L, m[3].Id), (entry.State.LastCseq, entry.State.Unread, entry.Last.Id));
        Assert.Equal(entry.State, await w2.GetConversationAsync(me, conv));
    }

    [SkippableFact]
    public async Task The_list_is_ordered_by_last_activity_and_paged_by_before()
    {
        var store = await OpenStoreAsync();
        var me = User("ix4");
        var (c1, c2, c3) = (Conversation("ix4a"), Conversation("ix4b"), Conversation("ix4c"));
        var at = Now - 100_000;
        var first = await StoreAsync(store, Accepted(c1) with { Ts = at + 1 }, Accepted(c2) with { Ts = at + 2 }, Accepted(c3) with { Ts = at + 3 });
        await store.UpdateConversationsAsync([.. first.Select(m => To(me, m))]);
        // c1 moves to the top: listed once, at its new time.
        var later = await StoreAsync(store, Accepted(c1, "newer") with { Ts = at + 4 });
        await store.UpdateConversationsAsync([To(me, later[0])]);

        Assert.Equal([c1, c3, c2], (await store.ListConversationsAsync(me, null, 10)).Select(e => e.State.Conv));
        Assert.Equal([c1, c3], (await store.ListConversationsAsync(me, null, 2)).Select(e => e.State.Conv));
        Assert.Equal([c3, c2], (await store.ListConversationsAsync(me, at + 4, 10)).Select(e => e.State.Conv));
        Assert.Equal([c2], (await store.ListConversationsAsync(me, at + 3, 10)).Select(e => e.State.Conv));
        Assert.Empty(await store.ListConversationsAsync(me, at + 2, 10));
        Assert.Equal("newer", (await store.ListConversationsAsync(me, null, 1))[0].Last.Body.GetProperty("text").GetString());
        Assert.Empty(await store.ListConversationsAsync(User("nobody4"), null, 10));
    }

    [SkippableFact]
    public async Task Conversations_whose_messages_share_a_millisecond_get_distinct_activities_and_page_without_loss()
    {
        var store = await OpenStoreAsync();
        var me = User("ix8");
        var at = Now - 50_000;
        var convs = Enumerable.Range(0, 7).Select(i => Conversation($"ix8c{i}")).ToList();
        var messages = await StoreAsync(store, [.. convs.Select(c => Accepted(c) with { Ts = at })]);
        await store.UpdateConversationsAsync([.. messages.Take(4).Select(m => To(me, m))]);
        await store.UpdateConversationsAsync([.. messages.Skip(4).Select(m => To(me, m))]);

        var all = await store.ListConversationsAsync(me, null, 100);
        Assert.Equal(Enumerable.Reverse(convs), all.Select(e => e.State.Conv));
        Assert.Equal(7, all.Select(e => e.State.Activity).Distinct().Count());
        Assert.All(all, e => Assert.Equal(at, e.Last.Ts));
        var paged = new List<string>();
        for (long? before = null; ;)
        {
            var page = await store.ListConversationsAsync(me, before, 3);
            if (page.Count == 0) break;
            paged.AddRange(page.Select(e => e.State.Conv));
            before = page[^1].State.Activity;
        }
        Assert.Equal(Enumerable.Reverse(convs), paged);
    }

    [SkippableFact]
    public async Task A_read_position_moves_forward_only_sets_the_unread_count_and_outlives_the_store_instance()
    {
        var store = await OpenStoreAsync();
        var (me, conv) = (User("ix5"), Conversation("ix5"));
        var messages = await StoreAsync(store, [.. Enumerable.Range(0, 5).Select(_ => Accepted(conv, from: "other5"))]);
        await store.UpdateConversationsAsync([.. messages.Select(m => To(me, m))]);

        Assert.True(await store.AdvanceReadAsync(me, conv, 3, 3));
        Assert.Equal((3L, 2L), await ReadAndUnreadAsync(store, me, conv));
        Assert.False(await store.AdvanceReadAsync(me, conv, 2, 2));
        Assert.False(await store.AdvanceReadAsync(me, conv, 3, 3));
        Assert.Equal((3L, 2L), await ReadAndUnreadAsync(store, me, conv));
        Assert.True(await store.AdvanceReadAsync(me, conv, 5, 5));

        var again = await OpenStoreAsync();
        Assert.Equal((5L, 0L), await ReadAndUnreadAsync(again, me, conv));
        Assert.Equal((5L, 0L), (Assert.Single(await again.ListConversationsAsync(me, null, 10)).State is var s ? (s.Read, s.Unread) : default));
        Assert.Equal([new ReceiptPosition(me, 0, 5), new ReceiptPosition(User("stranger5"), 0, 0)], await again.GetReceiptsAsync(conv, [me, User("stranger5")]));
    }

    [SkippableFact]
    public async Task Delivered_positions_move_forward_only_and_report_which_moved()
    {
        var store = await OpenStoreAsync();
        var (me, c1, c2) = (User("ix6"), Conversation("ix6a"), Conversation("ix6b"));

        Assert.Equal([new ConversationPosition(c1, 3), new ConversationPosition(c2, 1)],
            await store.AdvanceDeliveredAsync(me, [new ConversationPosition(c1, 3), new ConversationPosition(c2, 1)]));
        Assert.Equal([new ConversationPosition(c2, 4)],
            await store.AdvanceDeliveredAsync(me, [new ConversationPosition(c1, 2), new ConversationPosition(c2, 4)]));

        var again = await OpenStoreAsync();
        Assert.Equal(3, (await again.GetReceiptsAsync(c1, [me]))[0].Delivered);
        Assert.Equal(4, (await again.GetReceiptsAsync(c2, [me]))[0].Delivered);
    }

    private static async Task<(long Read, long Unread)> ReadAndUnreadAsync(ChatStorePorts store, string user, string conv)
    {
        var state = await store.GetConversationAsync(user, conv);
        return (state.Read, state.Unread);
    }
}
