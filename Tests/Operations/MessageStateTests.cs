using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Operations;
using AspireChat.Protocol;

namespace AspireChat.Tests.Operations;

/// <summary>
/// Stage 1's fold of operation entries into a message's state (docs/protocol.md §13.2, decision 0017): in <c>cseq</c>
/// order, an operation already applied changes nothing, and nothing brings back what a recall erased.
/// </summary>
public sealed class MessageStateTests
{
    private const string Conv = "s:alice:bob";
    private const long Target = 1000;

    private static readonly ChatMessage Message = new(Target, Conv, 1, Ope.OneToOne, "alice", "bob", 1, Json("""{"text":"original"}"""), Json("""{"lang":"en"}"""), 10);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    // The operation entry at cseq, made by from, as the session writes it.
    private static ChatMessage Entry(long cseq, int type, JsonElement body, string from = "alice") =>
        new(Target + cseq, Conv, cseq, Ope.OneToOne, from, from == "alice" ? "bob" : "alice", type, body, null, 10 + cseq);

    private static ChatMessage Edit(long cseq, string text) => Entry(cseq, OperationTypes.Edited, OperationEntries.Edited(Target, Json($$"""{"text":"{{text}}"}"""), null));
    private static ChatMessage Recall(long cseq) => Entry(cseq, OperationTypes.Recalled, OperationEntries.Recalled(Target, "alice"));
    private static ChatMessage React(long cseq, string emoji, bool on, string from = "bob") => Entry(cseq, OperationTypes.Reaction, OperationEntries.Reaction(Target, emoji, on), from);
    private static ChatMessage Pin(long cseq, bool on) => Entry(cseq, OperationTypes.Pinned, OperationEntries.Pinned(Target, on));

    private static MsgFrame Shown(MessageState state) => state.Show(Message.ToFrame());

    [Fact]
    public void A_recall_erases_the_message_and_every_edit_before_it()
    {
        var state = MessageState.Of(Message);
        state.Apply(Edit(2, "second"), Message);
        state.Apply(Edit(3, "third"), Message);

        var erased = state.Apply(Recall(4), Message);

        Assert.Equal([1L, 2L, 3L], erased.Select(e => e.Cseq));
        Assert.Equal("{}", erased[0].Body.GetRawText());
        Assert.Null(erased[0].Ex);
        Assert.All(erased.Skip(1), e => Assert.Equal($$"""{"event":"edited","target":"{{Target}}"}""", e.Body.GetRawText()));
        Assert.Empty(state.Edits);
        Assert.Empty(state.Versions(Message));
        var shown = Shown(state);
        Assert.Equal(("{}", (JsonElement?)null, (long?)null, (bool?)true), (shown.Body.GetRawText(), shown.Ex, shown.Edited, shown.Recalled));
    }

    [Fact]
    public void An_edit_sequenced_after_the_recall_is_erased_and_changes_nothing()
    {
        var state = MessageState.Of(Message);
        state.Apply(Recall(2), Message);

        var erased = state.Apply(Edit(3, "too late"), Message);

        var entry = Assert.Single(erased);
        Assert.Equal((3L, OperationTypes.Edited), (entry.Cseq, entry.Type));
        Assert.DoesNotContain("too late", entry.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(state.Edits);
        Assert.Equal("{}", Shown(state).Body.GetRawText());
        Assert.Null(Shown(state).Edited);
        // A second recall finds nothing left to erase.
        Assert.Empty(state.Apply(Recall(4), Message));
        Assert.Equal(4, state.Applied);
    }

    [Fact]
    public void An_operation_at_or_below_the_last_applied_cseq_is_skipped()
    {
        var state = MessageState.Of(Message);
        state.Apply(Edit(2, "edited"), Message);
        state.Apply(React(3, "👍", on: true), Message);
        state.Apply(Pin(4, on: true), Message);

        // A log batch delivered again, and an older entry arriving late: none of them is applied a second time.
        state.Apply(Edit(2, "edited"), Message);
        state.Apply(React(3, "👍", on: false), Message);
        state.Apply(Pin(4, on: false), Message);
        state.Apply(Recall(1), Message);

        Assert.Equal(4, state.Applied);
        Assert.Equal(["edited"], state.Edits.Select(e => e.Body.GetProperty("text").GetString()));
        Assert.Equal(["bob"], state.Reactions.Single(r => r.Emoji == "👍").Users);
        Assert.Equal(4, state.PinnedCseq);
        Assert.False(state.Recalled);
        Assert.Equal(["original", "edited"], state.Versions(Message).Select(v => v.Body.GetProperty("text").GetString()));
    }

    [Fact]
    public void Reactions_and_pins_fold_to_the_last_word_in_cseq_order()
    {
        var state = MessageState.Of(Message);
        state.Apply(React(2, "👍", on: true, from: "bob"), Message);
        state.Apply(React(3, "👍", on: true, from: "alice"), Message);
        state.Apply(React(4, "👍", on: true, from: "bob"), Message);
        state.Apply(React(5, "🎉", on: true, from: "bob"), Message);
        state.Apply(React(6, "🎉", on: false, from: "bob"), Message);
        state.Apply(Pin(7, on: true), Message);
        state.Apply(Pin(8, on: false), Message);
        state.Apply(Pin(9, on: false), Message);

        var shown = Shown(state);
        Assert.Equal(["👍"], shown.Reactions!.Keys);
        Assert.Equal(["bob", "alice"], shown.Reactions["👍"]);
        Assert.Null(shown.Pinned);
        Assert.Null(state.PinnedCseq);
    }
}
