using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;

namespace AspireChat.Tests.Client;

/// <summary>The SDK's local message state: operation entries applied per message in <c>cseq</c> order (docs/protocol.md §13).</summary>
public sealed class MessageStatesTests
{
    private const string Conv = "s:alice:bob";
    private const string Target = "7000000000000000001";

    private static MsgFrame Entry(long cseq, int type, string body, string from = "bob", long? ts = null) => new()
    {
        Seq = cseq,
        Id = $"71{cseq:000000}",
        Conv = Conv,
        Cseq = cseq,
        Ope = Ope.OneToOne,
        From = from,
        To = from == "bob" ? "alice" : "bob",
        Type = type,
        Body = JsonDocument.Parse(body).RootElement,
        Ts = ts ?? 1_700_000_000_000 + cseq,
    };

    private static MsgFrame Edit(long cseq, string text) =>
        Entry(cseq, OperationTypes.Edited, $$$"""{"event":"edited","target":"{{{Target}}}","body":{"text":"{{{text}}}"}}""");

    private static MsgFrame Recall(long cseq) =>
        Entry(cseq, OperationTypes.Recalled, $$"""{"event":"recalled","target":"{{Target}}","by":"bob"}""");

    private static MsgFrame React(long cseq, string user, string emoji, bool on) =>
        Entry(cseq, OperationTypes.Reaction, $$"""{"event":"reaction","target":"{{Target}}","emoji":"{{emoji}}","on":{{(on ? "true" : "false")}}}""", user);

    private static MsgFrame Pin(long cseq, bool on) =>
        Entry(cseq, OperationTypes.Pinned, $$"""{"event":"pinned","target":"{{Target}}","on":{{(on ? "true" : "false")}}}""");

    private static string? Text(MessageState state) => state.Body?.GetProperty("text").GetString();

    [Fact]
    public void Edits_that_arrive_out_of_cseq_order_end_in_the_latest_one()
    {
        var states = new MessageStates();

        var afterLater = states.Apply(Edit(5, "second"))!;
        var afterEarlier = states.Apply(Edit(3, "first"))!;

        Assert.Equal("second", Text(afterLater));
        Assert.Equal("second", Text(afterEarlier));
        Assert.Equal(1_700_000_000_005, afterEarlier.Edited);
    }

    [Fact]
    public void An_entry_seen_before_changes_nothing_and_is_not_reported_again()
    {
        var states = new MessageStates();
        Assert.NotNull(states.Apply(React(4, "alice", "👍", on: true)));

        Assert.Null(states.Apply(React(4, "alice", "👍", on: true)));
        Assert.Equal(["alice"], states.Get(Conv, Target)!.Reactions["👍"]);
    }

    [Fact]
    public void An_edit_sequenced_after_the_recall_changes_nothing_in_whichever_order_they_arrive()
    {
        var inOrder = new MessageStates();
        inOrder.Apply(Edit(3, "changed"));
        inOrder.Apply(Recall(4));
        inOrder.Apply(Edit(5, "too late"));
        var reversed = new MessageStates();
        reversed.Apply(Edit(5, "too late"));
        reversed.Apply(Recall(4));
        reversed.Apply(Edit(3, "changed"));

        foreach (var state in new[] { inOrder.Get(Conv, Target)!, reversed.Get(Conv, Target)! })
        {
            Assert.True(state.Recalled);
            Assert.Equal("{}", state.Body!.Value.GetRawText());
            Assert.Null(state.Ex);
            Assert.Null(state.Edited);
        }
    }

    [Fact]
    public void Reactions_keep_the_order_users_reacted_in_and_an_emoji_without_users_is_gone()
    {
        var states = new MessageStates();
        states.Apply(React(2, "alice", "👍", on: true));
        states.Apply(React(3, "bob", "👍", on: true));
        states.Apply(React(4, "carol", "🎉", on: true));
        states.Apply(React(5, "alice", "👍", on: true)); // already there: stays first
        states.Apply(React(6, "dave", "👍", on: false)); // never there: nothing

        var state = states.Apply(React(7, "carol", "🎉", on: false))!;

        Assert.Equal(["👍"], state.Reactions.Keys);
        Assert.Equal(["alice", "bob"], state.Reactions["👍"]);
        state = states.Apply(React(8, "alice", "👍", on: false))!;
        state = states.Apply(React(9, "alice", "👍", on: true))!;
        Assert.Equal(["bob", "alice"], state.Reactions["👍"]);
    }

    [Fact]
    public void Pins_take_the_last_entry_in_cseq_order()
    {
        var states = new MessageStates();
        states.Apply(Pin(6, on: false));

        var state = states.Apply(Pin(5, on: true))!;

        Assert.False(state.Pinned);
    }

    [Fact]
    public void A_server_view_is_the_base_and_entries_that_arrive_after_it_was_asked_for_apply_on_top()
    {
        var states = new MessageStates();
        states.Apply(React(3, "alice", "👍", on: true));
        var mark = states.Mark();
        states.Apply(Edit(6, "newest"));
        var view = FakeChatServer.Message(2, Target) with
        {
            Seq = null,
            Body = JsonDocument.Parse("""{"text":"edited before"}""").RootElement,
            Edited = 1_700_000_000_004,
            Reactions = new Dictionary<string, IReadOnlyList<string>> { ["👍"] = ["alice", "carol"] },
            Pinned = true,
        };

        var state = states.Seed(view, mark);

        Assert.Equal("newest", Text(state));
        Assert.Equal(1_700_000_000_006, state.Edited);
        Assert.Equal(["alice", "carol"], state.Reactions["👍"]);
        Assert.True(state.Pinned);
        var shown = state.ApplyTo(FakeChatServer.Message(2, Target));
        Assert.Equal(("newest", true, 1_700_000_000_006L), (shown.Body.GetProperty("text").GetString(), shown.Pinned == true, shown.Edited));
    }

    [Fact]
    public void A_message_no_operation_touched_has_no_state_and_shows_as_it_was_sent()
    {
        var states = new MessageStates();
        states.Apply(Pin(3, on: true));

        Assert.Null(states.Get(Conv, "7000000000000000002"));
        var original = FakeChatServer.Message(2, Target);
        var shown = states.Get(Conv, Target)!.ApplyTo(original);
        Assert.Equal((original.Body.GetRawText(), (bool?)true, (bool?)null), (shown.Body.GetRawText(), shown.Pinned, shown.Recalled));
    }
}
