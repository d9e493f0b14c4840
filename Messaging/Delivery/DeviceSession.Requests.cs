using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Delivery;

/// <summary>What each client frame of a welcomed device does (docs/protocol.md). A bad request throws a <see cref="FrameException"/>.</summary>
public sealed partial class DeviceSession
{
    /// <summary>
    /// Handles one frame of a welcomed device other than <c>send</c> and <c>ping</c>: <c>ack</c>, <c>sync</c>,
    /// <c>gsync</c>, <c>read</c>, <c>typing</c>.
    /// </summary>
    public ValueTask HandleAsync(string type, ReadOnlySpan<byte> frame, CancellationToken cancellationToken = default) => type switch
    {
        FrameTypes.Ack => AckAsync(FrameCodec.Read<AckFrame>(frame), cancellationToken),
        FrameTypes.Sync => SyncAsync(FrameCodec.Read<SyncFrame>(frame), cancellationToken),
        FrameTypes.Gsync => GsyncAsync(FrameCodec.Read<GsyncFrame>(frame), cancellationToken),
        FrameTypes.Read => ReadAsync(FrameCodec.Read<ReadFrame>(frame), cancellationToken),
        FrameTypes.Typing => TypingAsync(FrameCodec.Read<TypingFrame>(frame), cancellationToken),
        FrameTypes.Hello => throw new FrameException(ErrorCodes.BadFrame, "already welcomed"),
        _ => throw new FrameException(ErrorCodes.BadFrame, $"unknown frame type '{type}'"),
    };

    /// <summary>
    /// A send: validated, then queued for stage 0; <paramref name="reply"/> hears the ack or the refusal once the send is
    /// durable (or refused). A malformed send throws.
    /// </summary>
    public ValueTask SendAsync(SendFrame send, IAcceptReply reply, CancellationToken cancellationToken = default)
    {
        if (SendValidator.Validate(send, User, _node.Limits.MaxBodyBytes) is { } invalid) throw new FrameException(invalid.Code, invalid.Message);
        return _node.Sends.EnqueueAsync(User, Device, send, reply, cancellationToken);
    }

    private async ValueTask AckAsync(AckFrame ack, CancellationToken cancellationToken)
    {
        if (ack.Group is not null || ack.Cseq is not null)
        {
            await AckGroupAsync(ack, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (ack.Seq is not { } seq || seq < 0) throw new FrameException(ErrorCodes.BadFrame, "'seq' must be a non-negative integer");
        ChatTelemetry.Acked.Add(1);
        var span = _traces!.StartAck(seq);
        try
        {
            var acked = await _handover!.AcknowledgeAsync(seq, cancellationToken).ConfigureAwait(false);
            if (acked > _acked)
            {
                var after = _acked;
                _acked = acked;
                await _node.Reads.DeliveredAsync(User, after, acked, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            MessageTracing.StopKeepingCurrent(span);
        }
    }

    private async ValueTask AckGroupAsync(AckFrame ack, CancellationToken cancellationToken)
    {
        if (ack.Group is not { } gid || ack.Cseq is not { } cseq || cseq < 0 || ack.Seq is not null)
            throw new FrameException(ErrorCodes.BadFrame, "a group ack has 'group' and a non-negative 'cseq' (and no 'seq')");
        if (await _node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gid}' does not exist");
        if (await _node.Groups.GetRoleAsync(gid, User, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gid}'");
        await _node.Users.AdvanceGroupCursorAsync(User, Device, gid, cseq, cancellationToken).ConfigureAwait(false);
        await _node.Reads.GroupDeliveredAsync(User, gid, cseq, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SyncAsync(SyncFrame sync, CancellationToken cancellationToken)
    {
        if (sync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (sync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        var entries = await _node.Inbox.ReadInboxAsync(User, sync.After, sync.Limit + 1, cancellationToken).ConfigureAwait(false);
        var more = entries.Count > sync.Limit;
        var items = entries.Take(sync.Limit).Select(e => e.ToFrame()).ToList();
        _transport.TryWrite(FrameCodec.Write(new SyncReplyFrame { Items = items, Next = items.Count > 0 ? items[^1].Seq!.Value : sync.After, More = more }));
    }

    private async ValueTask GsyncAsync(GsyncFrame gsync, CancellationToken cancellationToken)
    {
        if (gsync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (gsync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        if (!Identifiers.IsValidId(gsync.Group) || await _node.Groups.GetGroupAsync(gsync.Group, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gsync.Group}' does not exist");
        var page = await _node.Timeline.ReadAfterAsync(gsync.Group, User, gsync.After, gsync.Limit, cancellationToken).ConfigureAwait(false)
            ?? throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gsync.Group}'");
        _transport.TryWrite(FrameCodec.Write(new GsyncReplyFrame { Group = gsync.Group, Items = [.. page.Items.Select(m => m.ToFrame())], Next = page.Next, More = page.More }));
    }

    private async ValueTask ReadAsync(ReadFrame read, CancellationToken cancellationToken)
    {
        if (read.Cseq < 0) throw new FrameException(ErrorCodes.BadFrame, "'cseq' must not be negative");
        var access = await _node.Reads.MarkReadAsync(User, Device, read.Conv, read.Cseq, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }

    private async ValueTask TypingAsync(TypingFrame typing, CancellationToken cancellationToken)
    {
        // Past the limit a typing frame is dropped silently (docs/protocol.md), before any lookup.
        if (!LazyInitializer.EnsureInitialized(ref _typing, () => new TypingThrottle(_node.Time)).TryTake(typing.Conv)) return;
        var access = await _node.Typing.RelayAsync(User, typing.Conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }
}
