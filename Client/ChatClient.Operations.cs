using System.Text;
using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// docs/protocol.md §13 on the client: replies and mentions, the edit, recall, react and pin frames (each a request of
/// the send sequence, retransmitted and acknowledged like a send), the local state the operation entries build, and the
/// server's views of one message and of the pins.
/// </summary>
public sealed partial class ChatClient
{
    private readonly MessageStates _states = new();

    /// <summary>An edit entry (type −10) was applied; <see cref="MessageOperationEventArgs.State"/> holds the current body. Raised on the receive loop.</summary>
    public event EventHandler<MessageOperationEventArgs>? MessageEdited;

    /// <summary>A recall entry (type −11) was applied: drop the message's content. Raised on the receive loop.</summary>
    public event EventHandler<MessageOperationEventArgs>? MessageRecalled;

    /// <summary>A reaction entry (type −12) was applied. Raised on the receive loop.</summary>
    public event EventHandler<MessageOperationEventArgs>? ReactionChanged;

    /// <summary>A pin entry (type −13) was applied. Raised on the receive loop.</summary>
    public event EventHandler<MessageOperationEventArgs>? PinChanged;

    /// <summary>
    /// Sends a reply to message <paramref name="target"/> of <paramref name="conv"/> (one-to-one: to the other party;
    /// group: to the group). Waits until the cursor store has recorded the new <c>req</c>, like <see cref="SendAsync"/>.
    /// </summary>
    public ValueTask<OutgoingMessage> ReplyAsync(string conv, string target, int type, JsonElement body, JsonElement? ex = null,
        IReadOnlyList<string>? mentions = null, CancellationToken cancellationToken = default)
    {
        var (ope, to) = AddresseeOf(conv);
        return SendAsync(ope, to, type, body, ex, target, mentions, cancellationToken);
    }

    /// <summary>Replaces the content of a message this user sent (within the server's edit window; not once recalled).</summary>
    public ValueTask<OutgoingOperation> EditAsync(string conv, string target, JsonElement body, JsonElement? ex = null,
        CancellationToken cancellationToken = default)
    {
        ValidateTarget(conv, target);
        ValidateContent(body, ex);
        body = body.Clone();
        ex = ex?.Clone();
        return OperateAsync(req => new OutgoingOperation(req, MessageOperation.Edit, conv, target,
            ClientFrames.Write(new EditFrame { Req = req, Conv = conv, Target = target, Body = body, Ex = ex })) { Body = body, Ex = ex },
            cancellationToken);
    }

    /// <summary>Withdraws a message: the server erases its content, every device drops it (<see cref="MessageRecalled"/>).</summary>
    public ValueTask<OutgoingOperation> RecallAsync(string conv, string target, CancellationToken cancellationToken = default)
    {
        ValidateTarget(conv, target);
        return OperateAsync(req => new OutgoingOperation(req, MessageOperation.Recall, conv, target,
            ClientFrames.Write(new RecallFrame { Req = req, Conv = conv, Target = target })), cancellationToken);
    }

    /// <summary>Adds (<paramref name="on"/>) or removes this user's reaction <paramref name="emoji"/> on a message.</summary>
    public ValueTask<OutgoingOperation> ReactAsync(string conv, string target, string emoji, bool on = true,
        CancellationToken cancellationToken = default)
    {
        ValidateTarget(conv, target);
        ArgumentNullException.ThrowIfNull(emoji);
        if (emoji.Length == 0 || Encoding.UTF8.GetByteCount(emoji) > OperationTypes.MaxEmojiBytes || emoji.Any(char.IsControl))
            throw new ArgumentException($"an emoji is 1–{OperationTypes.MaxEmojiBytes} bytes of UTF-8 without control characters", nameof(emoji));
        return OperateAsync(req => new OutgoingOperation(req, MessageOperation.React, conv, target,
            ClientFrames.Write(new ReactFrame { Req = req, Conv = conv, Target = target, Emoji = emoji, On = on })) { Emoji = emoji, On = on },
            cancellationToken);
    }

    /// <summary>Pins (<paramref name="on"/>) or unpins a message of the conversation.</summary>
    public ValueTask<OutgoingOperation> PinAsync(string conv, string target, bool on = true, CancellationToken cancellationToken = default)
    {
        ValidateTarget(conv, target);
        return OperateAsync(req => new OutgoingOperation(req, MessageOperation.Pin, conv, target,
            ClientFrames.Write(new PinFrame { Req = req, Conv = conv, Target = target, On = on })) { On = on },
            cancellationToken);
    }

    /// <summary>Sends a <see cref="OutgoingStatus.Failed"/> operation again with the same <c>req</c> (the server answers the
    /// original ack if it had accepted it, and writes no second entry). Returns a new handle.</summary>
    public OutgoingOperation Retry(OutgoingOperation failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        ThrowUnlessFailed(failed);
        EnsureStarted();
        return Enqueue(new OutgoingOperation(failed.Req, failed.Operation, failed.Conv, failed.Target, failed.Frame)
        {
            Body = failed.Body,
            Ex = failed.Ex,
            Emoji = failed.Emoji,
            On = failed.On,
        });
    }

    /// <summary>What the operation entries this device applied made of message <paramref name="id"/>; null when none touched it.</summary>
    public MessageState? GetMessageState(string conv, string id) => _states.Get(conv, id);

    /// <summary><paramref name="message"/> in its current state on this device (as the server's history would show it).</summary>
    public MsgFrame WithCurrentState(MsgFrame message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _states.Get(message.Conv, message.Id)?.ApplyTo(message) ?? message;
    }

    /// <summary>
    /// One message in its current state with <see cref="MsgFrame.Edits"/>, every version oldest first
    /// (<c>GET /api/conversations/{conv}/messages/{id}</c>). The answer also becomes the message's local state, with the
    /// entries that arrive later applied on top.
    /// </summary>
    /// <exception cref="ChatException"><c>not_found</c> for an unknown id, an operation entry or a message this user may not read.</exception>
    public async Task<MsgFrame> GetMessageAsync(string conv, string id, CancellationToken cancellationToken = default)
    {
        ValidateTarget(conv, id);
        var mark = _states.Mark();
        var message = await GetAsync($"api/conversations/{Uri.EscapeDataString(conv)}/messages/{id}", ProtocolJson.Default.MsgFrame, cancellationToken);
        _states.Seed(message, mark);
        return message;
    }

    /// <summary>
    /// The pinned messages of <paramref name="conv"/> in their current state, most recently pinned first
    /// (<c>GET /api/conversations/{conv}/pins</c>); each becomes its message's local state, like <see cref="GetMessageAsync"/>.
    /// </summary>
    public async Task<IReadOnlyList<MsgFrame>> GetPinsAsync(string conv, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        var mark = _states.Mark();
        var page = await GetAsync($"api/conversations/{Uri.EscapeDataString(conv)}/pins", ProtocolJson.Default.PinsPage, cancellationToken);
        foreach (var message in page.Items) _states.Seed(message, mark);
        return page.Items;
    }

    /// <summary>Applies a surfaced operation entry to the local state and raises its event.</summary>
    private void ApplyOperation(MsgFrame entry)
    {
        if (_states.Apply(entry) is not { } state) return;
        var handler = entry.Type switch
        {
            OperationTypes.Edited => MessageEdited,
            OperationTypes.Recalled => MessageRecalled,
            OperationTypes.Reaction => ReactionChanged,
            _ => PinChanged,
        };
        Raise(handler, new MessageOperationEventArgs(entry, state));
    }

    private async ValueTask<OutgoingOperation> OperateAsync(Func<long, OutgoingOperation> create, CancellationToken cancellationToken)
    {
        EnsureStarted();
        var operation = create(_cursors.AllocateReq());
        RefuseOversize(operation, operation.Body, operation.Ex);
        await _cursors.EnsureReservedAsync(operation.Req, cancellationToken);
        return Enqueue(operation);
    }

    /// <summary>Who a send into <paramref name="conv"/> goes to: the group, or the other party (oneself in a self-chat).</summary>
    private (int Ope, string To) AddresseeOf(string conv)
    {
        if (!Identifiers.TryParseConversation(conv, out var ope, out var first, out var second))
            throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        if (ope == Protocol.Ope.Group) return (ope, first);
        var me = _welcome?.User ?? throw new InvalidOperationException("call ConnectAsync first: the user comes from the welcome");
        if (me != first && me != second) throw new ArgumentException($"{me} is not a party of {conv}", nameof(conv));
        return (ope, me == first ? second : first);
    }

    private static void ValidateTarget(string conv, string target)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        ArgumentNullException.ThrowIfNull(target);
        ValidateMessageId(target, nameof(target));
    }
}
