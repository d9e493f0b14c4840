using AspireChat.Messaging;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Connections;

/// <summary>The frame handlers of a welcomed connection (and its hello): what each client frame of docs/protocol.md does.</summary>
public sealed partial class ChatConnection
{
    private async ValueTask HelloAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        HelloFrame hello;
        try
        {
            hello = FrameCodec.Read<HelloFrame>(frame.Span);
        }
        catch (FrameException e)
        {
            Unauthorized("bad hello: " + e.Message);
            return;
        }
        var user = await node.Tokens.ValidateAsync(hello.Token, cancellationToken).ConfigureAwait(false);
        if (user is null) { Unauthorized("invalid or expired token"); return; }
        if (!Identifiers.IsValidDevice(hello.Device)) { Unauthorized("'device' must be 1–64 printable characters"); return; }
        if (hello.Cursor is < 0) { Unauthorized("'cursor' must not be negative"); return; }
        if (hello.Groups?.FirstOrDefault(g => !Identifiers.IsValidId(g.Key) || g.Value < 0) is { Key: not null } badGroup)
        {
            Unauthorized($"'groups' entry '{badGroup.Key}' must be a group id with a non-negative cseq");
            return;
        }

        (_user, _device) = (user, hello.Device);
        var head = await node.Store.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        var recorded = await node.Cursors.GetAsync(user, hello.Device, cancellationToken).ConfigureAwait(false);
        var cursor = Math.Min(hello.Cursor ?? recorded ?? head, head);
        // A device's first hello records it as seen (its cursor), so later hellos can tell a known device from a new one.
        if (recorded is null) await node.Store.AdvanceCursorAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);

        _inboxOrder = new InboxOrder(cursor + 1, frame => _output.TryWrite(frame));
        _acked = cursor;
        // The hello timer, a shutdown or a replacement may have closed this connection while the reads above waited:
        // then the hello is discarded — it must not register, and so replace, the device's live connection.
        if (!TryMove(State.AwaitingHello, State.Welcomed)) return;
        _helloTimer?.Dispose();
        Send(new WelcomeFrame { User = user, Device = hello.Device, Node = node.Registry.Node, Head = head, Heartbeat = node.HeartbeatSeconds });
        node.Registry.Add(user, hello.Device, this)?.Close(CloseCodes.Replaced, "replaced by a newer connection of this device");
        await node.Pending.ResetAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
        await node.Presence.ConnectAsync(user, hello.Device, node.Registry.Node, cancellationToken).ConfigureAwait(false);
        Push(await node.Delivery.ClaimBacklogAsync(user, hello.Device, cancellationToken).ConfigureAwait(false));
        await node.Groups.UpsertUserAsync(user, cancellationToken: cancellationToken).ConfigureAwait(false);
        await CatchUpGroupsAsync(hello, deviceKnown: recorded is not null, cancellationToken).ConfigureAwait(false);
    }

    // Large groups have no inbox copies: push one page after each group's cursor (hello.groups, else the
    // cursor recorded for this device, else the head); the client continues with gsync.
    private async ValueTask CatchUpGroupsAsync(HelloFrame hello, bool deviceKnown, CancellationToken cancellationToken)
    {
        var gids = await node.Groups.GetUserGroupsAsync(_user, cancellationToken).ConfigureAwait(false);
        if (gids.Count == 0) return;
        _groupCatchUp.Begin(gids);
        node.Registry.JoinGroups(this, gids);
        foreach (var gid in gids)
        {
            if (await node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { Fanout: GroupFanout.Read } group)
            {
                _groupCatchUp.End(gid, 0);
                continue;
            }
            long cursor;
            if (hello.Groups is { } listed && listed.TryGetValue(gid, out var given)) cursor = given;
            else if (await node.Groups.GetGroupCursorAsync(_user, _device, gid, cancellationToken).ConfigureAwait(false) is { } recorded) cursor = recorded;
            else
            {
                // The device is here for the group the first time. A device seen before was away when its user joined:
                // it gets the group from the join on. A new device starts live from the head (docs/protocol.md). Recorded, so
                // that if it goes away before there is anything to acknowledge, it resumes here and not from a later head.
                var periods = deviceKnown ? await node.Groups.GetMembershipAsync(gid, _user, cancellationToken).ConfigureAwait(false) : [];
                cursor = periods.Count > 0 && periods[^1].Left is null
                    ? periods[^1].Joined - 1
                    : await node.Timeline.HeadAsync(gid, cancellationToken).ConfigureAwait(false);
                await node.Groups.AdvanceGroupCursorAsync(_user, _device, gid, cursor, cancellationToken).ConfigureAwait(false);
            }
            // What came before the group went large reached this device through its inbox.
            var after = Math.Max(cursor, group.FanoutSince - 1);
            var page = await node.Timeline.ReadAfterAsync(gid, _user, after, node.GroupOptions.HelloPage, cancellationToken).ConfigureAwait(false);
            foreach (var message in page?.Items ?? []) _output.TryWrite(FrameCodec.Write(message.ToFrame()));
            // A page that is not the whole backlog ends before what arrived live: the client fills that gap with gsync.
            _groupCatchUp.End(gid, page is { Items.Count: > 0 } ? page.Items[^1].Cseq : after);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        var send = FrameCodec.Read<SendFrame>(frame.Span);
        if (SendValidator.Validate(send, _user, node.Limits.MaxBodyBytes) is { } invalid)
        {
            if (invalid.Code == ErrorCodes.BadFrame) BadFrame(new FrameException(invalid.Code, invalid.Message), send.Req);
            else Send(new ErrorFrame { Code = invalid.Code, Message = invalid.Message, Req = send.Req });
            return;
        }
        if (!_rate.TryTake())
        {
            Send(new ErrorFrame { Code = ErrorCodes.RateLimited, Message = "send rate limit exceeded; retry later with the same req", Req = send.Req });
            if (_floods.Record()) Close(CloseCodes.RateLimited, "flooding past the rate limit");
            return;
        }
        Interlocked.Increment(ref _inflight);
        try
        {
            await node.Sends.EnqueueAsync(_user, _device, send, this, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Answered();
            throw;
        }
    }

    // Called by the pipeline once the send is durable (or refused); written straight to this socket's queue.
    void IAcceptReply.Accepted(long req, SendRecord record, long? cseq, long? seq)
    {
        Send(new SendAckFrame { Req = req, Id = record.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Conv = record.Conv, Ts = record.Ts, Cseq = cseq, Seq = seq });
        Answered();
    }

    void IAcceptReply.Rejected(long req, SendRejection rejection)
    {
        Send(new ErrorFrame { Code = rejection.Code, Message = rejection.Message, Req = req });
        Answered();
    }

    private void Answered()
    {
        if (Interlocked.Decrement(ref _inflight) == 0 && Volatile.Read(ref _closeRequested) == 1) CompleteOutput();
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
        // Acked (or synced) entries need no ordering any more: a device that synced ahead is not held back.
        _inboxOrder.Acknowledged(seq);
        Push(await node.Delivery.AckAsync(_user, _device, seq, cancellationToken).ConfigureAwait(false));
        if (seq > _acked)
        {
            var after = _acked;
            _acked = seq;
            await node.Reads.DeliveredAsync(_user, after, seq, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask ReadAsync(ReadFrame read, CancellationToken cancellationToken)
    {
        if (read.Cseq < 0) throw new FrameException(ErrorCodes.BadFrame, "'cseq' must not be negative");
        var access = await node.Reads.MarkReadAsync(_user, _device, read.Conv, read.Cseq, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }

    private async ValueTask TypingAsync(TypingFrame typing, CancellationToken cancellationToken)
    {
        // Past the limit a typing frame is dropped silently (docs/protocol.md §12.8), before any lookup.
        if (!_typing.TryTake(typing.Conv)) return;
        var access = await node.Typing.RelayAsync(_user, typing.Conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }

    private async ValueTask SyncAsync(SyncFrame sync, CancellationToken cancellationToken)
    {
        if (sync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (sync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        var entries = await node.Store.ReadInboxAsync(_user, sync.After, sync.Limit + 1, cancellationToken).ConfigureAwait(false);
        var more = entries.Count > sync.Limit;
        var items = entries.Take(sync.Limit).Select(e => e.ToFrame()).ToList();
        Send(new SyncReplyFrame { Items = items, Next = items.Count > 0 ? items[^1].Seq!.Value : sync.After, More = more });
    }

    private async ValueTask AckGroupAsync(AckFrame ack, CancellationToken cancellationToken)
    {
        if (ack.Group is not { } gid || ack.Cseq is not { } cseq || cseq < 0 || ack.Seq is not null)
            throw new FrameException(ErrorCodes.BadFrame, "a group ack has 'group' and a non-negative 'cseq' (and no 'seq')");
        if (await node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gid}' does not exist");
        if (await node.Groups.GetRoleAsync(gid, _user, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gid}'");
        await node.Groups.AdvanceGroupCursorAsync(_user, _device, gid, cseq, cancellationToken).ConfigureAwait(false);
        await node.Reads.GroupDeliveredAsync(_user, gid, cseq, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask GsyncAsync(GsyncFrame gsync, CancellationToken cancellationToken)
    {
        if (gsync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (gsync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        if (!Identifiers.IsValidId(gsync.Group) || await node.Groups.GetGroupAsync(gsync.Group, cancellationToken).ConfigureAwait(false) is null)
            throw new FrameException(ErrorCodes.NotFound, $"group '{gsync.Group}' does not exist");
        var page = await node.Timeline.ReadAfterAsync(gsync.Group, _user, gsync.After, gsync.Limit, cancellationToken).ConfigureAwait(false)
            ?? throw new FrameException(ErrorCodes.Forbidden, $"you are not a member of group '{gsync.Group}'");
        Send(new GsyncReplyFrame { Group = gsync.Group, Items = [.. page.Items.Select(m => m.ToFrame())], Next = page.Next, More = page.More });
    }
}
