using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using System.Collections.Concurrent;
using AspireChat.Messaging;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// One client WebSocket, as a state machine: awaiting hello → welcomed → closed (DESIGN §3).
/// One loop reads frames; one loop writes them from a queue, so frames never interleave and a slow
/// socket never blocks the pipeline.
/// </summary>
public sealed partial class ChatConnection(WebSocket socket, ChatNode node)
{
    private enum State { AwaitingHello, Welcomed, Closed }

    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private readonly AbuseCounter _badFrames = new(10, TimeSpan.FromSeconds(10), node.Time);
    private readonly AbuseCounter _floods = new(10, TimeSpan.FromSeconds(10), node.Time);
    private readonly SendRateLimiter _rate = new(node.Limits.SendsPerSecond, node.Limits.SendBurst, node.Time);
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private State _state = State.AwaitingHello;
    private Timer? _helloTimer;
    private int _inflight;
    private int _closeRequested;
    private (int Code, string Reason)? _close;
    private string _user = "";

    // Inbox entries are written in seq order: a live push (stage 2) and a window fill (after an ack) claim
    // contiguous ranges but may reach this queue in either order, so a later seq waits for the earlier one.
    private readonly object _inboxOrder = new();
    private readonly SortedDictionary<long, byte[]> _early = [];
    private long _nextSeq = long.MaxValue;

    /// <summary>The groups whose local member map holds this connection (kept by the registry).</summary>
    internal ConcurrentDictionary<string, byte> Groups { get; } = new(StringComparer.Ordinal);
    private string _device = "";

    public async Task RunAsync(CancellationToken aborted)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, _closing.Token);
        var writer = Task.Run(() => WriteLoopAsync(linked.Token), CancellationToken.None);
        using var helloTimer = _helloTimer = new Timer(_ => { if (_state == State.AwaitingHello) Close(CloseCodes.Unauthorized, "no hello within 10 s"); },
            null, node.HelloTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await ReadLoopAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            _readerDone.TrySetResult();
            await LeaveAsync().ConfigureAwait(false);
            RequestClose();
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>Queues inbox entries for this device (called by routing); false once the connection is closing.</summary>
    public bool TryPush(IReadOnlyList<InboxEntry> entries)
    {
        if (_state != State.Welcomed) return false;
        Push(entries);
        return true;
    }

    /// <summary>Queues an already serialized frame (a large group's message, shared by every local member).</summary>
    public bool TryPushFrame(byte[] frame) => _state == State.Welcomed && _outbound.Writer.TryWrite(frame);

    /// <summary>Ends the connection with a close code, after the frames already queued.</summary>
    public void Close(int code, string reason)
    {
        _close ??= (code, reason);
        _state = State.Closed;
        RequestClose();
    }

    // Output ends once every send already taken has been answered, so an accepted send is never left
    // without its ack because the connection was closing.
    private void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        if (Volatile.Read(ref _inflight) == 0) _outbound.Writer.TryComplete();
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        while (_state != State.Closed && socket.State == WebSocketState.Open)
        {
            // Wait for data with no buffer: an idle connection holds no receive memory (DESIGN §11).
            var ready = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            if (ready.MessageType == WebSocketMessageType.Close) return;

            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length > node.Limits.MaxFrameBytes)
                        {
                            TooLarge();
                            return;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, node.Limits.MaxFrameBytes + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    length += result.Count;
                } while (!result.EndOfMessage);

                if (length > node.Limits.MaxFrameBytes)
                {
                    TooLarge();
                    return;
                }
                if (result.MessageType != WebSocketMessageType.Text)
                {
                    BadFrame(new FrameException(ErrorCodes.BadFrame, "frames are JSON text frames"), null);
                    continue;
                }
                await HandleFrameAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void TooLarge()
    {
        Send(new ErrorFrame { Code = ErrorCodes.TooLarge, Message = $"a frame is at most {node.Limits.MaxFrameBytes} bytes" });
        Close(CloseCodes.TooLarge, "frame too large");
    }

    private async ValueTask HandleFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        string type;
        try
        {
            type = FrameCodec.ReadType(frame.Span);
        }
        catch (FrameException e)
        {
            if (_state == State.AwaitingHello) { Unauthorized(e.Message); return; }
            BadFrame(e, null);
            return;
        }

        try
        {
            if (_state == State.AwaitingHello)
            {
                if (type != FrameTypes.Hello) Unauthorized("the first frame must be hello");
                else await HelloAsync(frame, cancellationToken).ConfigureAwait(false);
                return;
            }

            switch (type)
            {
                case FrameTypes.Send: await SendAsync(frame, cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Ack: await AckAsync(FrameCodec.Read<AckFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Sync: await SyncAsync(FrameCodec.Read<SyncFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Gsync: await GsyncAsync(FrameCodec.Read<GsyncFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Ping: Send(new PongFrame()); break;
                case FrameTypes.Hello: throw new FrameException(ErrorCodes.BadFrame, "already welcomed");
                default: throw new FrameException(ErrorCodes.BadFrame, $"unknown frame type '{type}'");
            }
        }
        catch (FrameException e)
        {
            BadFrame(e, type == FrameTypes.Send ? TryReadReq(frame.Span) : null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A backing service failed: the client retries later; the connection stays (DESIGN §3 `unavailable`).
            LogFrameFailed(node.Logger, e, type);
            Send(new ErrorFrame { Code = ErrorCodes.Unavailable, Message = "a backing service is unavailable; retry later", Req = type == FrameTypes.Send ? TryReadReq(frame.Span) : null });
            if (_state == State.AwaitingHello) Close(CloseCodes.Unauthorized, "hello failed");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a '{Type}' frame failed")]
    private static partial void LogFrameFailed(ILogger logger, Exception exception, string type);

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
        var recorded = await node.Store.GetCursorAsync(user, hello.Device, cancellationToken).ConfigureAwait(false);
        var cursor = Math.Min(hello.Cursor ?? recorded ?? head, head);
        // A device's first hello records it as seen (its cursor), so later hellos can tell a known device from a new one.
        if (recorded is null) await node.Store.AdvanceCursorAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);

        _helloTimer?.Dispose();
        Send(new WelcomeFrame { User = user, Device = hello.Device, Node = node.Registry.Node, Head = head, Heartbeat = node.HeartbeatSeconds });
        _state = State.Welcomed;
        node.Registry.Add(user, hello.Device, this)?.Close(WebSocketCloseCodes.Replaced, "replaced by a newer connection of this device");
        lock (_inboxOrder) _nextSeq = cursor + 1;
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
        node.Registry.JoinGroups(this, gids);
        foreach (var gid in gids)
        {
            if (await node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { Fanout: GroupFanout.Read } group) continue;
            long cursor;
            if (hello.Groups is { } listed && listed.TryGetValue(gid, out var given)) cursor = given;
            else if (await node.Groups.GetGroupCursorAsync(_user, _device, gid, cancellationToken).ConfigureAwait(false) is { } recorded) cursor = recorded;
            else
            {
                // The device is here for the group the first time. A device seen before was away when its user joined:
                // it gets the group from the join on. A new device starts live from the head (DESIGN §3). Recorded, so
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
            foreach (var message in page?.Items ?? []) _outbound.Writer.TryWrite(FrameCodec.Write(message.ToFrame()));
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
        Task<AcceptOutcome> outcome;
        try
        {
            outcome = await node.Accept.EnqueueAsync(_user, _device, send, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Answered();
            throw;
        }
        _ = AnswerAsync(send.Req, outcome);
    }

    private async Task AnswerAsync(long req, Task<AcceptOutcome> outcome)
    {
        try
        {
            var result = await outcome.ConfigureAwait(false);
            if (result.Accepted is { } record)
                Send(new SendAckFrame { Req = req, Id = record.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Conv = record.Conv, Ts = record.Ts });
            else if (result.Rejected is { } rejected)
                Send(new ErrorFrame { Code = rejected.Code, Message = rejected.Message, Req = req });
        }
        finally
        {
            Answered();
        }
    }

    private void Answered()
    {
        if (Interlocked.Decrement(ref _inflight) == 0 && Volatile.Read(ref _closeRequested) == 1) _outbound.Writer.TryComplete();
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
        lock (_inboxOrder) AdvanceInboxOrder(seq + 1);
        Push(await node.Delivery.AckAsync(_user, _device, seq, cancellationToken).ConfigureAwait(false));
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

    private void Push(IReadOnlyList<InboxEntry> entries)
    {
        foreach (var entry in entries)
        {
            var frame = FrameCodec.Write(entry.ToFrame());
            lock (_inboxOrder)
            {
                if (entry.Seq > _nextSeq)
                {
                    _early[entry.Seq] = frame;
                    continue;
                }
                _outbound.Writer.TryWrite(frame); // the next one, or a re-push of an unacknowledged one
                if (entry.Seq == _nextSeq) AdvanceInboxOrder(_nextSeq + 1);
            }
        }
    }

    // Moves the next expected seq to at least `next`, writing buffered entries that became contiguous.
    private void AdvanceInboxOrder(long next)
    {
        _nextSeq = Math.Max(_nextSeq, next);
        while (_early.Count > 0)
        {
            var (seq, frame) = _early.First();
            if (seq > _nextSeq) break;
            _early.Remove(seq);
            if (seq == _nextSeq)
            {
                _outbound.Writer.TryWrite(frame);
                _nextSeq++;
            }
        }
    }

    private void Send<T>(T frame) where T : class => _outbound.Writer.TryWrite(FrameCodec.Write(frame));

    private void BadFrame(FrameException e, long? req)
    {
        Send(new ErrorFrame { Code = e.Code, Message = e.Message, Req = req });
        if (e.Code == ErrorCodes.BadFrame && _badFrames.Record()) Close(CloseCodes.Protocol, "more than 10 bad frames within 10 s");
    }

    private void Unauthorized(string message)
    {
        Send(new ErrorFrame { Code = ErrorCodes.Unauthorized, Message = message });
        Close(CloseCodes.Unauthorized, "unauthorized");
    }

    private static long? TryReadReq(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isReq = reader.ValueTextEquals("req"u8);
                reader.Read();
                if (isReq) return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var req) ? req : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var frame in _outbound.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            }
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var (code, reason) = _close ?? ((int)WebSocketCloseStatus.NormalClosure, "");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
                // Let the client read the close frame and answer it; cancelling the read at once would abort
                // the socket and could discard the close frame in flight.
                await _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
        finally
        {
            // The read loop may be blocked in ReceiveAsync: once output is done, stop it.
            _closing.Cancel();
        }
    }

    private async ValueTask LeaveAsync()
    {
        var wasWelcomed = _user.Length > 0;
        _state = State.Closed;
        if (!wasWelcomed || !node.Registry.Remove(_user, _device, this)) return;
        await node.Pending.ForgetAsync(_user, _device).ConfigureAwait(false);
        await node.Presence.DisconnectAsync(_user, _device, node.Registry.Node).ConfigureAwait(false);
    }
}

/// <summary>Close codes beyond the four of DESIGN §3.</summary>
public static class WebSocketCloseCodes
{
    /// <summary>Another connection of the same device was welcomed; this one is closed normally.</summary>
    public const int Replaced = 1000;
}
