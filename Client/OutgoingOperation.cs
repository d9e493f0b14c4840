using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>The operations on a message (docs/protocol.md §13.2), by the timeline entry each one writes.</summary>
public enum MessageOperation
{
    Edit = OperationTypes.Edited,
    Recall = OperationTypes.Recalled,
    React = OperationTypes.Reaction,
    Pin = OperationTypes.Pinned,
}

/// <summary>
/// An edit, recall, reaction or pin on its way to the server. It takes its <c>req</c> from the same sequence as sends
/// and is retransmitted and acknowledged exactly like one; once acknowledged, <see cref="OutgoingRequest.Id"/> is the
/// operation's own timeline entry.
/// </summary>
public sealed class OutgoingOperation : OutgoingRequest
{
    internal OutgoingOperation(long req, MessageOperation operation, string conv, string target, byte[] frame) : base(req, frame)
    {
        Operation = operation;
        Conv = conv;
        Target = target;
    }

    public MessageOperation Operation { get; }
    /// <summary>The conversation of the target message.</summary>
    public string Conv { get; }
    /// <summary>The id of the message operated on.</summary>
    public string Target { get; }
    /// <summary>The new content (edit).</summary>
    public JsonElement? Body { get; internal init; }
    /// <summary>The new extension (edit).</summary>
    public JsonElement? Ex { get; internal init; }
    /// <summary>The reaction (react).</summary>
    public string? Emoji { get; internal init; }
    /// <summary>Add or remove the reaction; pin or unpin (react, pin).</summary>
    public bool On { get; internal init; }

    public override string ToString() => $"req {Req} {Operation} {Conv}/{Target}: {Status}";
}
