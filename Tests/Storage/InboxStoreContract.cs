using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="IInboxStore"/> contract (with stage 2's append): entries by <c>seq</c>, stored once under retry, contiguous per user, read in order and by range.
/// Every engine runs it through a subclass named for the engine that supplies its <see cref="IChatStoreEngine"/>.
/// </summary>
public abstract class InboxStoreContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    [SkippableFact]
    public async Task Appending_a_stored_inbox_entry_again_returns_its_seq_and_is_not_new()
    {
        var store = await OpenStoreAsync();
        var user = User("carol");
        var conv = Conversation("inbox-retry");
        var messages = await store.AppendMessagesAsync([Accepted(conv), Accepted(conv), Accepted(conv)]);

        var first = await store.AppendInboxAsync([To(user, messages[0]), To(user, messages[1])]);
        Assert.Equal([(1L, true), (2L, true)], first.Select(e => (e.Seq, e.IsNew)));

        var again = await store.AppendInboxAsync([To(user, messages[1])]);
        Assert.Equal((2L, false), (again.Single().Seq, again.Single().IsNew));

        var replay = await store.AppendInboxAsync([To(user, messages[0]), To(user, messages[1]), To(user, messages[2])]);
        Assert.Equal([(1L, false), (2L, false), (3L, true)], replay.Select(e => (e.Seq, e.IsNew)));

        var inbox = await store.ReadInboxAsync(user, 0, 100);
        Assert.Equal([1L, 2L, 3L], inbox.Select(e => e.Seq));
        Assert.Equal(messages.Select(m => m.Id), inbox.Select(e => e.Message.Id));
        Assert.Equal(3, await store.GetInboxHeadAsync(user));
    }

    [SkippableFact]
    public async Task An_inbox_entry_twice_in_one_batch_is_stored_once()
    {
        var store = await OpenStoreAsync();
        var user = User("dave");
        var messages = await store.AppendMessagesAsync([Accepted(Conversation("inbox-twice")), Accepted(Conversation("inbox-twice"))]);

        var result = await store.AppendInboxAsync([To(user, messages[0]), To(user, messages[0]), To(user, messages[1])]);

        Assert.Equal([(1L, true), (1L, false), (2L, true)], result.Select(e => (e.Seq, e.IsNew)));
        Assert.Equal([1L, 2L], (await store.ReadInboxAsync(user, 0, 100)).Select(e => e.Seq));
    }

    [SkippableFact]
    public async Task Seq_counts_from_one_without_gaps_per_user_across_batches()
    {
        var store = await OpenStoreAsync();
        var (u, v) = (User("erin"), User("frank"));
        var conv = Conversation("seq");
        var m = await store.AppendMessagesAsync([Accepted(conv), Accepted(conv), Accepted(conv)]);

        var first = await store.AppendInboxAsync([To(u, m[0]), To(v, m[0]), To(u, m[1])]);
        var second = await store.AppendInboxAsync([To(v, m[1]), To(u, m[2]), To(v, m[2])]);

        Assert.Equal([(u, 1L), (v, 1L), (u, 2L)], first.Select(e => (e.User, e.Seq)));
        Assert.Equal([(v, 2L), (u, 3L), (v, 3L)], second.Select(e => (e.User, e.Seq)));
        Assert.Equal(3, await store.GetInboxHeadAsync(u));
        Assert.Equal(3, await store.GetInboxHeadAsync(v));
    }

    [SkippableFact]
    public async Task ReadInbox_returns_the_entries_after_a_seq_in_order_up_to_the_limit()
    {
        var store = await OpenStoreAsync();
        var (u, v) = (User("heidi"), User("ivan"));
        var conv = Conversation("read-inbox");
        var m = await store.AppendMessagesAsync(Enumerable.Range(0, 5).Select(i => Accepted(conv, $"m{i}")).ToList());
        await store.AppendInboxAsync([To(u, m[0]), To(v, m[0]), To(u, m[1]), To(u, m[2]), To(v, m[4]), To(u, m[3]), To(u, m[4])]);

        var page = await store.ReadInboxAsync(u, 0, 3);
        Assert.Equal([1L, 2L, 3L], page.Select(e => e.Seq));
        Assert.Equal(["m0", "m1", "m2"], page.Select(e => e.Message.Body.GetProperty("text").GetString()));
        Assert.All(page, e => Assert.Equal(u, e.User));
        Assert.Equal([(4L, 4L), (5L, 5L)], (await store.ReadInboxAsync(u, 3, 10)).Select(e => (e.Seq, e.Message.Cseq)));
        Assert.Empty(await store.ReadInboxAsync(u, 5, 10));
        Assert.Equal([m[0].Id, m[4].Id], (await store.ReadInboxAsync(v, 0, 10)).Select(e => e.Message.Id));
        Assert.Empty(await store.ReadInboxAsync(User("nobody"), 0, 10));
        Assert.Equal(0, await store.GetInboxHeadAsync(User("nobody")));
    }

    [SkippableFact]
    public async Task Inbox_positions_name_the_highest_cseq_of_each_conversation_in_a_seq_range()
    {
        var store = await OpenStoreAsync();
        var (me, c1, c2) = (User("ix7"), Conversation("ix7a"), Conversation("ix7b"));
        var m = await StoreAsync(store, Accepted(c1), Accepted(c2), Accepted(c1), Accepted(c2), Accepted(c1));
        await store.AppendInboxAsync([.. m.Select(x => To(me, x))]);

        Assert.Equal([(c1, 2L), (c2, 2L)], Sorted(await store.ReadInboxPositionsAsync(me, 1, 4)));
        Assert.Equal([(c1, 3L), (c2, 2L)], Sorted(await store.ReadInboxPositionsAsync(me, 0, 5)));
        Assert.Empty(await store.ReadInboxPositionsAsync(me, 5, 10));
    }

    private static List<(string, long)> Sorted(IReadOnlyList<ConversationPosition> positions) =>
        [.. positions.Select(p => (p.Conv, p.Cseq)).OrderBy(p => p.Conv, StringComparer.Ordinal)];
}
