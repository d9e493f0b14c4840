using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="IChatStore"/> contract, the store as a unit: batches, what a fresh instance over the same database continues from (the heads of <see cref="SequenceHeads"/>), initialization.
/// Every engine runs it through a subclass named for the engine that supplies its <see cref="IChatStoreEngine"/>.
/// </summary>
public abstract class ChatStoreBatchContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    [SkippableFact]
    public async Task A_fresh_store_on_the_same_database_continues_from_what_is_stored()
    {
        var conv = Conversation("fresh");
        var user = User("grace");
        var (m1, m2, m3) = (Accepted(conv), Accepted(conv), Accepted(conv));
        var first = await OpenStoreAsync();
        var stored = await first.AppendMessagesAsync([m1, m2]);
        await first.AppendInboxAsync([To(user, stored[0]), To(user, stored[1])]);

        var second = await OpenStoreAsync();
        Assert.Equal(2, await second.GetInboxHeadAsync(user));
        // Its caches are empty: a retry is recognised from storage, and new writes continue after the stored head.
        var continued = await second.AppendMessagesAsync([m2, m3]);
        Assert.Equal([2L, 3L], continued.Select(m => m.Cseq));
        var appended = await second.AppendInboxAsync([To(user, continued[0]), To(user, continued[1])]);
        Assert.Equal([(2L, false), (3L, true)], appended.Select(e => (e.Seq, e.IsNew)));

        var third = await OpenStoreAsync();
        Assert.Equal([(3L, false)], (await third.AppendInboxAsync([To(user, continued[1])])).Select(e => (e.Seq, e.IsNew)));
        Assert.Equal([4L], (await third.AppendMessagesAsync([Accepted(conv)])).Select(m => m.Cseq));
        Assert.Equal([1L, 2L, 3L, 4L], (await third.ReadConversationAsync(conv, null, null, 100)).Select(m => m.Cseq));
        Assert.Equal([1L, 2L, 3L], (await third.ReadInboxAsync(user, 0, 100)).Select(e => e.Seq));
    }

    [SkippableFact]
    public async Task A_fresh_store_continues_many_conversations_and_inboxes_from_their_stored_heads_in_one_batch()
    {
        var convs = Enumerable.Range(0, 40).Select(i => Conversation($"heads-{i:00}")).ToArray();
        var users = Enumerable.Range(0, 40).Select(i => User($"heads-{i:00}")).ToArray();
        var first = await OpenStoreAsync();
        // Conversation i holds i % 4 messages and user i as many inbox entries: some hold none.
        var stored = await first.AppendMessagesAsync([.. convs.SelectMany((conv, i) => Enumerable.Range(0, i % 4).Select(_ => Accepted(conv)))]);
        await first.AppendInboxAsync([.. users.SelectMany((user, i) => stored.Take(i % 4).Select(m => To(user, m)))]);

        // A second store, its heads not cached, reads all of them for one batch: each key continues after its own head.
        var second = await OpenStoreAsync();
        var next = await second.AppendMessagesAsync([.. convs.Select(conv => Accepted(conv))]);
        Assert.Equal(convs.Select((_, i) => (long)(i % 4 + 1)), next.Select(m => m.Cseq));
        var entries = await second.AppendInboxAsync([.. users.Select((user, i) => To(user, next[i]))]);
        Assert.Equal(users.Select((_, i) => (long)(i % 4 + 1)), entries.Select(e => e.Seq));
    }

    [SkippableFact]
    public async Task Initializing_again_keeps_the_data_and_the_unique_keys()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("init");
        var user = User("oscar");
        var message = Accepted(conv);
        var send = Send("oscar", 1);
        var stored = await store.AppendMessagesAsync([message]);
        await store.AppendInboxAsync([To(user, stored[0])]);
        await store.AdvanceCursorAsync(user, "phone", 1);
        await store.ReserveSendsAsync([send]);

        await store.InitializeAsync();
        var again = await OpenStoreAsync();
        await again.InitializeAsync();

        Assert.Equal([message.Id], (await again.ReadConversationAsync(conv, null, null, 10)).Select(m => m.Id));
        Assert.Equal([(1L, false)], (await again.AppendInboxAsync([To(user, stored[0])])).Select(e => (e.Seq, e.IsNew)));
        Assert.Equal([1L], (await again.AppendMessagesAsync([message])).Select(m => m.Cseq));
        Assert.Single(await again.ReadConversationAsync(conv, null, null, 10));
        Assert.Equal(1, await again.GetCursorAsync(user, "phone"));
        Assert.Equal([send], await again.ReserveSendsAsync([send with { Id = send.Id + 1000 }]));
    }

    [SkippableFact]
    public async Task Finding_sends_answers_the_records_held_in_order_and_reserves_nothing()
    {
        var store = await OpenStoreAsync();
        var (held, other, unknown) = (Send("finder", 1), Send("finder", 2), Send("finder", 3));
        await store.ReserveSendsAsync([held, other]);

        var found = await store.FindSendsAsync([unknown, other with { Id = 1, Ts = 1 }, held with { Id = 2, Conv = "s:x:y" }]);
        Assert.Equal([null, other, held], found);
        Assert.Equal([null], await (await OpenStoreAsync()).FindSendsAsync([unknown]));
        // What was looked for and not found is still free to reserve.
        Assert.Equal([unknown], await store.ReserveSendsAsync([unknown]));
        Assert.Empty(await store.FindSendsAsync([]));

        // Within one batch, a record reserved earlier in the batch is found.
        var later = Send("finder", 4);
        using var batch = store.BeginBatch();
        await batch.ReserveSendsAsync([later]);
        Assert.Equal([later], await batch.FindSendsAsync([later with { Id = 3 }]));
        await batch.CommitAsync();
    }

    [SkippableFact]
    public async Task Empty_batches_write_nothing()
    {
        var store = await OpenStoreAsync();
        Assert.Empty(await store.AppendMessagesAsync([]));
        Assert.Empty(await store.AppendInboxAsync([]));
        Assert.Empty(await store.ReserveSendsAsync([]));
    }

    [SkippableFact]
    public async Task An_index_row_is_written_in_the_same_batch_as_its_inbox_entry()
    {
        var store = await OpenStoreAsync();
        var (me, conv) = (User("ix3"), Conversation("ix3"));
        using (var batch = store.BeginBatch())
        {
            var messages = await batch.AppendMessagesAsync([Accepted(conv, "first", from: "other3"), Accepted(conv, "second", from: "other3")]);
            var appends = messages.Select(m => To(me, m)).ToList();
            await batch.AppendInboxAsync(appends);
            await batch.UpdateConversationsAsync(appends);
            await batch.CommitAsync();
        }

        Assert.Equal(2, (await store.ReadInboxAsync(me, 0, 10)).Count);
        var entry = Assert.Single(await store.ListConversationsAsync(me, null, 10));
        Assert.Equal(("second", 2L, 2L), (entry.Last.Body.GetProperty("text").GetString(), entry.State.LastCseq, entry.State.Unread));
    }
}
