using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="ITimelineStore"/> contract (with stage 1's append): messages by <c>cseq</c>, stored once under retry, contiguous per conversation, read back whole and paged (docs/protocol.md §9, docs/data-model.md).
/// Every engine runs it through a subclass named for the engine that supplies its <see cref="IChatStoreEngine"/>.
/// </summary>
public abstract class TimelineStoreContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
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
}
