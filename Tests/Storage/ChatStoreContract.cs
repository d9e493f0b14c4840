using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="IChatStore"/> contract (docs/protocol.md §9, docs/data-model.md, README.md): every adapter runs these same tests.
/// A subclass supplies store instances over one database per test class; tests keep apart by using
/// their own conversations, users and ids, so they may share that database.
/// </summary>
public abstract class ChatStoreContract
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];
    // Above 2^53 on purpose: ids must survive as 64-bit integers, not doubles.
    private long _nextId = (1L << 60) + (Random.Shared.NextInt64(1L << 40) << 16);

    /// <summary>A new store instance over the class's database, initialized: empty caches, earlier instances' data.</summary>
    protected abstract Task<IChatStore> OpenStoreAsync();

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private string User(string name) => $"{name}.{_run}";

    private string Conversation(string name) => $"s:{name}.{_run}:zz.{_run}";

    private MessageAccepted Accepted(string conv, string text = "hi", string from = "alice", JsonElement? ex = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        return new MessageAccepted(id, conv, 0, User(from), "phone", id & 0xFFFF, User("bob"), 1,
            Json($$"""{"text":{{JsonSerializer.Serialize(text)}}}"""), ex, Now);
    }

    private SendRecord Send(string user, long req, long? ts = null, string device = "phone") =>
        new(User(user), device, req, Interlocked.Increment(ref _nextId), Conversation("sends"), ts ?? Now);

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private static InboxAppend To(string user, ChatMessage message) => new(user, message);

    // --- idempotent inserts under retry ---

    [SkippableFact]
    public async Task Appending_a_stored_message_again_returns_its_original_cseq_and_keeps_one_copy()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("retry");
        var (m1, m2, m3) = (Accepted(conv), Accepted(conv), Accepted(conv));

        Assert.Equal([1L, 2L], (await store.AppendMessagesAsync([m1, m2])).Select(m => m.Cseq));
        Assert.Equal(2, (await store.AppendMessagesAsync([m2])).Single().Cseq);
        // A replayed batch that goes on past what was stored: old ones keep their cseq, the new one follows without a gap.
        Assert.Equal([1L, 2L, 3L], (await store.AppendMessagesAsync([m1, m2, m3])).Select(m => m.Cseq));

        var stored = await store.ReadConversationAsync(conv, null, null, 100);
        Assert.Equal([m1.Id, m2.Id, m3.Id], stored.Select(m => m.Id));
        Assert.Equal([1L, 2L, 3L], stored.Select(m => m.Cseq));
    }

    [SkippableFact]
    public async Task A_message_twice_in_one_batch_is_stored_once()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("twice");
        var (m1, m2) = (Accepted(conv), Accepted(conv));

        var result = await store.AppendMessagesAsync([m1, m1, m2]);

        Assert.Equal([1L, 1L, 2L], result.Select(m => m.Cseq));
        Assert.Equal([m1.Id, m2.Id], (await store.ReadConversationAsync(conv, null, null, 100)).Select(m => m.Id));
    }

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

    // --- contiguous sequences under the single-writer rule ---

    [SkippableFact]
    public async Task Cseq_counts_from_one_without_gaps_per_conversation_across_batches()
    {
        var store = await OpenStoreAsync();
        var (a, b) = (Conversation("a"), Conversation("b"));

        var first = await store.AppendMessagesAsync([Accepted(a), Accepted(b), Accepted(a)]);
        var second = await store.AppendMessagesAsync([Accepted(b), Accepted(a)]);
        var third = await store.AppendMessagesAsync([Accepted(a)]);

        Assert.Equal([(a, 1L), (b, 1L), (a, 2L)], first.Select(m => (m.Conv, m.Cseq)));
        Assert.Equal([(b, 2L), (a, 3L)], second.Select(m => (m.Conv, m.Cseq)));
        Assert.Equal([(a, 4L)], third.Select(m => (m.Conv, m.Cseq)));
        Assert.Equal([1L, 2L, 3L, 4L], (await store.ReadConversationAsync(a, null, null, 100)).Select(m => m.Cseq));
        Assert.Equal([1L, 2L], (await store.ReadConversationAsync(b, null, null, 100)).Select(m => m.Cseq));
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

    // --- reads ---

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
    public async Task ReadConversation_pages_the_newest_before_and_after_a_cseq()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("history");
        await store.AppendMessagesAsync(Enumerable.Range(0, 10).Select(_ => Accepted(conv)).ToList());
        await store.AppendMessagesAsync([Accepted(Conversation("other"))]);

        async Task<IEnumerable<long>> Page(long? before, long? after, int limit) =>
            (await store.ReadConversationAsync(conv, before, after, limit)).Select(m => m.Cseq);

        Assert.Equal([8L, 9L, 10L], await Page(null, null, 3));
        Assert.Equal([5L, 6L, 7L], await Page(8, null, 3));
        Assert.Equal([1L, 2L], await Page(3, null, 5));
        Assert.Empty(await Page(1, null, 5));
        Assert.Equal([8L, 9L], await Page(null, 7, 2));
        Assert.Equal([1L, 2L, 3L], await Page(null, 0, 3));
        Assert.Empty(await Page(null, 10, 5));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), await Page(null, null, 100));
        Assert.Empty(await store.ReadConversationAsync(Conversation("unknown"), null, null, 10));
    }

    [SkippableFact]
    public async Task A_message_reads_back_with_every_field_and_its_json_byte_for_byte()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("fields");
        // Numbers no BSON or .NET number type holds exactly, key names MongoDB treats specially, non-ASCII text.
        const string body = """{"text":"héllo 👋 \u0000","big":123456789012345678901234567890,"f":1.0,"e":1E+2,"$op":{"a.b":[1,"x",null,true,{}]}}""";
        const string ex = """{ "reply" : "12" ,"dup":1,"dup":2 }""";
        var plain = Accepted(conv) with { Body = Json(body), Type = 7, Ope = 1, To = "g1", Ts = 1_700_000_000_123 };
        var extended = Accepted(conv) with { Body = Json(body), Ex = Json(ex) };

        await store.AppendMessagesAsync([plain, extended]);
        var read = await store.ReadConversationAsync(conv, null, null, 10);

        var p = read[0];
        Assert.Equal((plain.Id, plain.Conv, 1L, 1, plain.From, "g1", 7, 1_700_000_000_123L), (p.Id, p.Conv, p.Cseq, p.Ope, p.From, p.To, p.Type, p.Ts));
        Assert.Equal(body, p.Body.GetRawText());
        Assert.Null(p.Ex);
        Assert.Equal(ex, read[1].Ex?.GetRawText());

        var user = User("judy");
        await store.AppendInboxAsync([To(user, read[1])]);
        var entry = (await store.ReadInboxAsync(user, 0, 10)).Single();
        Assert.Equal((extended.Id, 2L, body, ex), (entry.Message.Id, entry.Message.Cseq, entry.Message.Body.GetRawText(), entry.Message.Ex?.GetRawText()));
    }

    // --- cursors ---

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

    // --- send dedup ---

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

    // --- initialization ---

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
    public async Task Empty_batches_write_nothing()
    {
        var store = await OpenStoreAsync();
        Assert.Empty(await store.AppendMessagesAsync([]));
        Assert.Empty(await store.AppendInboxAsync([]));
        Assert.Empty(await store.ReserveSendsAsync([]));
    }

    // --- the conversation index, read and delivered positions (docs/protocol.md §12.8) ---

    private static async Task<ChatMessage[]> StoreAsync(IChatStore store, params MessageAccepted[] accepted) => [.. await store.AppendMessagesAsync(accepted)];

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

    private static async Task<(long Read, long Unread)> ReadAndUnreadAsync(IChatStore store, string user, string conv)
    {
        var state = await store.GetConversationAsync(user, conv);
        return (state.Read, state.Unread);
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
