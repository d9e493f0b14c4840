using AspireChat.Messaging;
using AspireChat.Messaging.Operations;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The <see cref="IMessageStateStore"/> contract with stage 1's writes (docs/protocol.md §13): a message's reply and
/// mentions stored with it, states stored and replaced by (conv, id), pins listed most recently pinned first, a message
/// found by id only in its own conversation, and a recall's erasure that leaves no content in the timeline.
/// </summary>
public abstract class MessageStateStoreContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    [SkippableFact]
    public async Task Reply_and_mentions_are_stored_with_the_message_and_read_back_by_id()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("reply");
        var original = (await StoreAsync(store, Accepted(conv)))[0];
        var answer = Accepted(conv) with { Reply = original.Id, Mentions = [User("bob"), "@all"] };
        await StoreAsync(store, answer);

        var read = await store.Timeline.GetMessageAsync(conv, answer.Id);
        Assert.NotNull(read);
        Assert.Equal((original.Id, 2L), (read.Reply, read.Cseq));
        Assert.Equal([User("bob"), "@all"], read.Mentions!);
        var first = await store.Timeline.GetMessageAsync(conv, original.Id);
        Assert.Equal((null, null), (first!.Reply, first.Mentions));
        var page = await store.ReadConversationAsync(conv, null, null, 10);
        Assert.Equal(original.Id, page[1].Reply);
    }

    [SkippableFact]
    public async Task A_message_is_found_by_id_only_in_its_own_conversation()
    {
        var store = await OpenStoreAsync();
        var message = (await StoreAsync(store, Accepted(Conversation("own"))))[0];

        Assert.Null(await store.Timeline.GetMessageAsync(Conversation("other"), message.Id));
        Assert.Null(await store.Timeline.GetMessageAsync(message.Conv, message.Id + 1_000_000));
        Assert.Equal(message.Id, (await store.Timeline.GetMessageAsync(message.Conv, message.Id))!.Id);
    }

    [SkippableFact]
    public async Task States_are_stored_replaced_and_read_by_conversation_and_id()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("states");
        var (m1, m2) = ((await StoreAsync(store, Accepted(conv)))[0], (await StoreAsync(store, Accepted(conv)))[0]);
        var state = MessageState.Of(m1);
        state.Reactions.Add(new ReactionRecord("👍", [User("bob"), User("carol")]));
        state.Edits.Add(new EditRecord(m2.Id + 100, 7, Json("""{"text":"v2"}"""), null, 123));
        state.Applied = 7;
        await store.Store.PutMessageStatesAsync([state]);

        var read = await store.States.GetStatesAsync(conv, [m1.Id, m2.Id]);
        Assert.Equal([m1.Id], read.Keys);
        Assert.Equal([User("bob"), User("carol")], read[m1.Id].Reactions.Single(r => r.Emoji == "👍").Users);
        Assert.Equal("v2", read[m1.Id].Edits.Single().Body.GetProperty("text").GetString());
        Assert.Equal((7L, m1.Cseq, m1.From), (read[m1.Id].Applied, read[m1.Id].Cseq, read[m1.Id].From));

        state.Recalled = true;
        state.Edits.Clear();
        await store.Store.PutMessageStatesAsync([state]);
        var again = (await store.States.GetStatesAsync(conv, [m1.Id]))[m1.Id];
        Assert.True(again.Recalled);
        Assert.Empty(again.Edits);
        Assert.Empty(await store.States.GetStatesAsync(Conversation("elsewhere"), [m1.Id]));
    }

    [SkippableFact]
    public async Task Pins_are_listed_most_recently_pinned_first_and_leave_when_unpinned()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("pins");
        var messages = new List<ChatMessage>();
        for (var i = 0; i < 3; i++) messages.Add((await StoreAsync(store, Accepted(conv)))[0]);
        var states = messages.Select(MessageState.Of).ToList();
        (states[0].PinnedCseq, states[1].PinnedCseq, states[2].PinnedCseq) = (10, 12, 11);
        await store.Store.PutMessageStatesAsync(states);
        Assert.Equal([messages[1].Id, messages[2].Id, messages[0].Id], (await store.States.GetPinnedAsync(conv, 10)).Select(s => s.Id));
        Assert.Equal([messages[1].Id], (await store.States.GetPinnedAsync(conv, 1)).Select(s => s.Id));

        // Unpinned, and pinned again later: it moves to the top; the old pin leaves no trace.
        (states[1].PinnedCseq, states[0].PinnedCseq) = (null, 13);
        await store.Store.PutMessageStatesAsync([states[1], states[0]]);
        Assert.Equal([messages[0].Id, messages[2].Id], (await store.States.GetPinnedAsync(conv, 10)).Select(s => s.Id));
        Assert.Empty(await store.States.GetPinnedAsync(Conversation("no-pins"), 10));
    }

    [SkippableFact]
    public async Task Replacing_content_erases_the_body_and_ex_in_the_timeline()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("erase");
        var message = (await StoreAsync(store, Accepted(conv, "secret", ex: Json("""{"note":"also secret"}""")) with { Mentions = [User("bob")] }))[0];
        var other = (await StoreAsync(store, Accepted(conv, "kept")))[0];

        await store.Store.ReplaceContentAsync([message with { Body = OperationEntries.EmptyObject, Ex = null }]);

        var page = await store.ReadConversationAsync(conv, null, null, 10);
        Assert.Equal("{}", page[0].Body.GetRawText());
        Assert.Null(page[0].Ex);
        Assert.Equal([User("bob")], page[0].Mentions!);
        Assert.Equal("kept", page[1].Body.GetProperty("text").GetString());
        Assert.DoesNotContain("secret", (await store.Timeline.GetMessageAsync(conv, message.Id))!.Body.GetRawText());
    }

    /// <summary>
    /// A message already stored and appended again — a retransmitted send, a batch replayed from the log — comes back as
    /// stored: erased if it was recalled since (so its content is never routed again), and never the copy given when that
    /// differs. A new message beside it in the batch is stored as given.
    /// </summary>
    [SkippableFact]
    public async Task A_message_appended_again_comes_back_as_stored_erased_after_a_recall_and_never_as_the_copy_given()
    {
        var store = await OpenStoreAsync();
        var conv = Conversation("replay");
        var (secret, first) = (Accepted(conv, "secret"), Accepted(conv, "first"));
        var stored = await StoreAsync(store, secret, first);
        await store.Store.ReplaceContentAsync([stored[0] with { Body = OperationEntries.EmptyObject, Ex = null }]);

        var fresh = Accepted(conv, "new");
        var again = await store.AppendMessagesAsync([secret, first with { Body = Json("""{"text":"second"}""") }, fresh]);

        Assert.Equal((stored[0].Id, stored[0].Cseq, "{}"), (again[0].Id, again[0].Cseq, again[0].Body.GetRawText()));
        Assert.Equal((stored[1].Cseq, "first"), (again[1].Cseq, again[1].Body.GetProperty("text").GetString()));
        Assert.Equal((3L, "new"), (again[2].Cseq, again[2].Body.GetProperty("text").GetString()));
        var page = await store.ReadConversationAsync(conv, null, null, 10);
        Assert.Equal(["{}", "first", "new"], page.Select(m => m.Body.TryGetProperty("text", out var text) ? text.GetString() : m.Body.GetRawText()));
    }
}

public sealed class RocksDbMessageStateStoreContractTests(RocksDbChatStoreEngine engine) : MessageStateStoreContract(engine), IClassFixture<RocksDbChatStoreEngine>;

public sealed class PostgresMessageStateStoreContractTests(PostgresChatStoreEngine engine) : MessageStateStoreContract(engine), IClassFixture<PostgresChatStoreEngine>;

public sealed class MongoMessageStateStoreContractTests(MongoChatStoreEngine engine) : MessageStateStoreContract(engine), IClassFixture<MongoChatStoreEngine>;
