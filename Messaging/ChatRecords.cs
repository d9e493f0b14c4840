using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Messaging;

/// <summary>A send that passed stage 0: durable in <c>chat.accepted</c>, not yet sequenced.</summary>
public sealed record MessageAccepted(
    long Id, string Conv, int Ope, string From, string Device, long Req, string To,
    int Type, JsonElement Body, JsonElement? Ex, long Ts)
{
    /// <summary>The id of the message this one replies to (same conversation), as sent.</summary>
    public long? Reply { get; init; }

    /// <summary>The user ids (or <c>@all</c>) the message mentions, as sent.</summary>
    public IReadOnlyList<string>? Mentions { get; init; }

    /// <summary>The message's trace where it was accepted (see <see cref="MessageTracing"/>); in Kafka it travels in the record's headers.</summary>
    [JsonIgnore] public ActivityContext Trace { get; init; }
}

/// <summary>A message in its conversation's timeline, with its <c>cseq</c>.</summary>
public sealed record ChatMessage(
    long Id, string Conv, long Cseq, int Ope, string From, string To,
    int Type, JsonElement Body, JsonElement? Ex, long Ts)
{
    /// <summary>The id of the message this one replies to (same conversation), as sent.</summary>
    public long? Reply { get; init; }

    /// <summary>The user ids (or <c>@all</c>) the message mentions, as sent.</summary>
    public IReadOnlyList<string>? Mentions { get; init; }

    /// <summary>The accepted message stored at <paramref name="cseq"/> of its conversation.</summary>
    public static ChatMessage Sequenced(MessageAccepted m, long cseq) =>
        new(m.Id, m.Conv, cseq, m.Ope, m.From, m.To, m.Type, m.Body, m.Ex, m.Ts) { Reply = m.Reply, Mentions = m.Mentions };

    /// <summary>Whether this message mentions <paramref name="user"/> by id, or by <c>@all</c> (anyone but its sender).</summary>
    public bool IsMentioned(string user) => Mentions is { } m && user != From && (m.Contains(user) || m.Contains(Protocol.OperationTypes.MentionAll));
}

/// <summary>Stage 1 → stage 2: put <paramref name="Message"/> into <paramref name="User"/>'s inbox.</summary>
public sealed record InboxAppend(string User, ChatMessage Message)
{
    /// <summary>The message's trace where it was fanned out; in Kafka it travels in the record's headers.</summary>
    [JsonIgnore] public ActivityContext Trace { get; init; }
}

/// <summary>An inbox entry: the user's <c>seq</c> for a message. <c>IsNew</c> is false when it was already there.</summary>
public sealed record InboxEntry(string User, long Seq, ChatMessage Message, bool IsNew = true)
{
    /// <summary>The message's trace where this entry was written or routed; default for entries read back from the store.</summary>
    [JsonIgnore] public ActivityContext Trace { get; init; }

    /// <summary>
    /// The sender's own entry of a send whose <c>ack</c> carried this entry's <c>seq</c> (embedded composition): the
    /// answer that ack went to. The session behind it holds the entry from its ack and is not pushed it again
    /// (docs/protocol.md §8.2); null for every other entry, and for entries read back from the store.
    /// </summary>
    [JsonIgnore] public Pipeline.IAcceptReply? AckedTo { get; init; }
}

/// <summary>Stage 2 → push: a user with no online device has a new message.</summary>
public sealed record PushRequested(string User, long Seq, long MessageId, string Conv, string From, long Ts)
{
    /// <summary>The message mentions the user: notified even in a muted conversation, and the payload says so.</summary>
    public bool Mention { get; init; }
}

/// <summary>The dedup record of a send: (from, device, req) → the message it became.</summary>
public sealed record SendRecord(string From, string Device, long Req, long Id, string Conv, long Ts);
