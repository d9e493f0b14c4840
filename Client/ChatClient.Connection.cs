using System.Net.WebSockets;
using AspireChat.Protocol;

namespace AspireChat.Client;

// The connection loop: handshake, the receive loop that dispatches every server frame, the writer loop that owns
// sends and acks, the heartbeat, gap filling (sync for the inbox, gsync for large groups), and reconnection with backoff.
public sealed partial class ChatClient
{
    private async Task RunAsync()
    {
        var failures = 0;
        var everWelcomed = false;
        while (!_stop.IsCancellationRequested)
        {
            SetState(everWelcomed || failures > 0 ? ChatClientState.Reconnecting : ChatClientState.Connecting, LastDisconnect);
            var welcomed = false;
            ChatDisconnect disconnect;
            try
            {
                disconnect = await RunConnectionAsync(() => welcomed = everWelcomed = true);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                disconnect = new ChatDisconnect(null, null, null, e);
            }
            // A connection the server welcomed and then closed for cause (44xx) does not reset the backoff, so a
            // client the server keeps refusing does not hammer it at the initial delay.
            if (welcomed && disconnect.CloseCode is not (>= 4400 and < 4500)) failures = 0;
            lock (_gate) _lastDisconnect = disconnect;
            if (_stop.IsCancellationRequested) break;

            if (disconnect.IsUnauthorized)
            {
                // The state first: whoever awaited ConnectAsync sees Unauthorized when its failure reaches it.
                SetState(ChatClientState.Unauthorized, disconnect);
                _firstWelcome.TrySetException(new ChatException(ErrorCodes.Unauthorized, disconnect.Meaning));
                _ = _firstWelcome.Task.Exception;
                return;
            }

            SetState(ChatClientState.Reconnecting, disconnect);
            var delay = Backoff(disconnect.CloseCode == CloseCodes.RateLimited ? Math.Max(failures, 4) : failures);
            failures++;
            try
            {
                await Task.Delay(delay, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One connection from socket open to its end; returns why it ended.</summary>
    private async Task<ChatDisconnect> RunConnectionAsync(Action onWelcome)
    {
        var socket = new ClientWebSocket();
        _options.ConfigureWebSocket?.Invoke(socket.Options);
        using var connection = new Connection(Interlocked.Increment(ref _connectionIds), socket, _time);

        WelcomeFrame? welcome;
        try
        {
            welcome = await HandshakeAsync(connection);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            return Describe(connection, e);
        }
        if (welcome is null) return Describe(connection, null);

        connection.Welcome = _welcome = welcome;
        onWelcome();
        lock (_ackGate)
        {
            // The last acks may have died with the previous socket: repeat them once on this one.
            _groupAcksForced = true;
            if (_surfacedMax >= 1 || _groups.Cursors() is not null)
            {
                _ackForced = true;
                _ackDue = _time.GetUtcNow();
            }
        }
        _connection = connection;
        SetState(ChatClientState.Connected, null);
        _firstWelcome.TrySetResult();

        connection.Writer = Task.Run(() => WriteLoopAsync(connection));
        var heartbeat = welcome.Heartbeat > 0
            ? Task.Run(() => HeartbeatLoopAsync(connection, TimeSpan.FromSeconds(welcome.Heartbeat)))
            : Task.CompletedTask;
        if (Volatile.Read(ref _gapAfter) >= 0) StartGapFill(connection);
        if (_groups.HasGaps) StartGroupFill(connection);

        var receive = ReceiveLoopAsync(connection);
        if (await Task.WhenAny(receive, _stopped.Task) != receive) await CloseGracefullyAsync(connection, receive);

        Exception? failure = null;
        try
        {
            await receive;
        }
        catch (Exception e)
        {
            failure = e;
        }
        var disconnect = Describe(connection, failure);
        Interlocked.CompareExchange(ref _connection, null, connection);
        connection.Abort();
        await connection.Writer;
        await heartbeat;
        connection.FailWaiters(new ChatException(ClientErrorCodes.Disconnected, "the connection dropped"));
        return disconnect;
    }

    /// <summary>Opens the socket, sends <c>hello</c> and reads up to <c>welcome</c>; null when the server closed instead.</summary>
    private async Task<WelcomeFrame?> HandshakeAsync(Connection connection)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stop.Token);
        // Socket I/O cannot be cancelled without aborting the socket: so a timeout aborts it.
        await using var abortOnTimeout = handshake.Token.Register(connection.Abort);

        await connection.Socket.ConnectAsync(_options.Server, handshake.Token);
        var token = await _options.TokenProvider(handshake.Token);
        long? cursor;
        lock (_ackGate) cursor = _surfacedMax >= 0 ? _surfacedMax : null;
        // The server closes (4413) a hello past its frame limit: keep the group cursors inside it.
        var groupBudget = _options.MaxFrameBytes - System.Text.Encoding.UTF8.GetByteCount(token) - _options.Device.Length * 4 - 256;
        var hello = new HelloFrame { Token = token, Device = _options.Device, Cursor = cursor, Groups = _groups.HelloCursors(groupBudget) };
        await connection.WriteAsync(ClientFrames.Write(hello));

        while (await connection.ReceiveAsync(_options.MaxReceiveFrameBytes) is { } frame)
        {
            var type = FrameCodec.ReadType(frame.Span);
            if (type == FrameTypes.Welcome) return FrameCodec.Read<WelcomeFrame>(frame.Span);
            if (type == FrameTypes.Error)
            {
                // An unauthorized error precedes the 4401 close; keep reading to get the close.
                var error = FrameCodec.Read<ErrorFrame>(frame.Span);
                connection.HandshakeError = error.Code;
                RaiseError(error, null);
            }
        }
        await AnswerCloseAsync(connection);
        return null;
    }

    private static ChatDisconnect Describe(Connection connection, Exception? failure)
    {
        var status = connection.Socket.CloseStatus;
        return new ChatDisconnect(status is null ? null : (int)status, connection.Socket.CloseStatusDescription, connection.HandshakeError, failure);
    }

    private async Task ReceiveLoopAsync(Connection connection)
    {
        var surfaced = new List<MsgFrame>();
        while (await connection.ReceiveAsync(_options.MaxReceiveFrameBytes) is { } frame)
            Dispatch(connection, frame.Span, surfaced);
        await AnswerCloseAsync(connection);
    }

    private static async Task AnswerCloseAsync(Connection connection)
    {
        try
        {
            if (connection.Socket.State == WebSocketState.CloseReceived)
                await connection.CloseOutputAsync(connection.Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "");
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The close handshake is a courtesy; the socket is done either way.
        }
    }

    private void Dispatch(Connection connection, ReadOnlySpan<byte> utf8, List<MsgFrame> surfaced)
    {
        try
        {
            switch (FrameCodec.ReadType(utf8))
            {
                case FrameTypes.Msg:
                    Deliver(connection, [FrameCodec.Read<MsgFrame>(utf8)], surfaced, pushed: true);
                    break;
                case FrameTypes.Ack:
                    var ack = FrameCodec.Read<SendAckFrame>(utf8);
                    if (_outbox.Acknowledge(ack) is not { } sent) break;
                    Announce(sent);
                    // Embedded mode: the ack carries this device's own inbox entry of the message, which the server does
                    // not push back (docs/protocol.md §8.2): the message goes through the inbox from here, in seq order.
                    if (OwnEntry(sent, ack) is { } own) Deliver(connection, [own], surfaced, pushed: false);
                    break;
                case FrameTypes.Sync:
                    var page = FrameCodec.Read<SyncReplyFrame>(utf8);
                    var sync = connection.TakeReply(ReplyKind.Sync);
                    Deliver(connection, page.Items, surfaced, pushed: false);
                    sync?.Sync?.TrySetResult(page);
                    break;
                case FrameTypes.Gsync:
                    var groupPage = FrameCodec.Read<GsyncReplyFrame>(utf8);
                    var gsync = connection.TakeReply(ReplyKind.Gsync);
                    DeliverGroupPage(connection, groupPage, gsync?.Group == groupPage.Group ? gsync.After : null, surfaced);
                    gsync?.Gsync?.TrySetResult(groupPage);
                    break;
                case FrameTypes.Pong:
                    if (connection.TakeReply(ReplyKind.Pong) is { } ping) ping.Pong?.TrySetResult(_time.GetElapsedTime(ping.Started));
                    break;
                case FrameTypes.Error:
                    OnError(connection, FrameCodec.Read<ErrorFrame>(utf8), surfaced);
                    break;
                case FrameTypes.Read:
                    Raise(ReadOnOtherDevice, FrameCodec.Read<ReadFrame>(utf8));
                    break;
                case FrameTypes.Receipt:
                    Raise(ReceiptReceived, FrameCodec.Read<ReceiptFrame>(utf8));
                    break;
                case FrameTypes.Typing:
                    Raise(TypingReceived, FrameCodec.Read<TypingFrame>(utf8));
                    break;
                // A repeated welcome and frame types of a later protocol version are ignored.
            }
        }
        catch (FrameException e)
        {
            RaiseError(null, e);
        }
    }

    /// <summary>
    /// Runs received messages through the inbox (by <c>seq</c>) and then, for group messages, through their group
    /// (by <c>cseq</c>); surfaces what is in order, schedules the ack, fills gaps.
    /// </summary>
    private void Deliver(Connection connection, IReadOnlyList<MsgFrame> items, List<MsgFrame> surfaced, bool pushed)
    {
        surfaced.Clear();
        var repeated = false;
        var ackable = AckableSeq();
        foreach (var item in items)
        {
            if (item.Seq is null)
            {
                if (GroupSequencer.GroupOf(item) is { } gid)
                {
                    if (_groups.Accept(gid, item, surfaced) == GroupOutcome.Duplicate) Interlocked.Increment(ref _duplicatesDropped);
                    // A large group's first push on this connection may open a hello page the server cut short.
                    if (pushed && connection.RequestCatchUp(gid)) StartGroupFill(connection);
                }
                else if (_inbox.Accept(item, surfaced) == InboxOutcome.Duplicate)
                {
                    Interlocked.Increment(ref _duplicatesDropped);
                }
                continue;
            }

            _released.Clear();
            if (_inbox.Accept(item, _released) == InboxOutcome.Duplicate)
            {
                Interlocked.Increment(ref _duplicatesDropped);
                // A pushed retransmission of something already acknowledgeable means the server missed our ack: say it
                // again. (A sync page repeating held entries means nothing of the sort.)
                if (pushed && item.Seq <= ackable) repeated = true;
            }
            foreach (var message in _released)
            {
                if (GroupSequencer.GroupOf(message) is not { } gid) surfaced.Add(message);
                else if (_groups.Accept(gid, message, surfaced) == GroupOutcome.Duplicate) Interlocked.Increment(ref _duplicatesDropped);
            }
        }
        Surface(connection, surfaced, repeated);
    }

    /// <summary>
    /// The sender's own inbox entry of an acknowledged send, when its ack carries the entry's <c>seq</c>. An operation's
    /// entry is written by the server (docs/protocol.md §13.2) and not rebuilt here: the seq it leaves open is filled by
    /// a sync (or the server's re-push), as for a client that ignores <c>ack.seq</c>.
    /// </summary>
    private MsgFrame? OwnEntry(OutgoingRequest request, SendAckFrame ack)
    {
        if (request is not OutgoingMessage sent || ack.Seq is not { } seq || ack.Cseq is not { } cseq || _welcome?.User is not { } user) return null;
        return new MsgFrame
        {
            Seq = seq, Id = ack.Id, Conv = ack.Conv, Cseq = cseq, Ope = sent.Ope, From = user, To = sent.To,
            Type = sent.Type, Body = sent.Body, Ex = sent.Ex, Ts = ack.Ts, Reply = sent.Reply, Mentions = sent.Mentions,
        };
    }

    /// <summary>A <c>gsync</c> page: <paramref name="after"/> is what it was asked with, null when no request matches it.</summary>
    private void DeliverGroupPage(Connection connection, GsyncReplyFrame page, long? after, List<MsgFrame> surfaced)
    {
        surfaced.Clear();
        if (Identifiers.IsValidId(page.Group))
        {
            // An unmatched page says nothing about the stretch it covers: its items count like pushes.
            _groups.AcceptPage(page.Group, after ?? long.MaxValue, page.Items, page.Next, surfaced);
        }
        Surface(connection, surfaced, repeated: false);
    }

    /// <summary>Hands surfaced messages to the app, then schedules the ack and starts gap filling as needed.</summary>
    private void Surface(Connection connection, List<MsgFrame> surfaced, bool repeated)
    {
        foreach (var message in surfaced)
        {
            _messages.Writer.TryWrite(message);
            try
            {
                MessageReceived?.Invoke(this, message);
            }
            catch (Exception e)
            {
                RaiseError(null, e);
            }
            if (OperationTypes.IsOperation(message.Type)) ApplyOperation(message);
        }

        Volatile.Write(ref _gapAfter, _inbox.HasGap ? _inbox.CurMax : -1);
        var ackable = AckableSeq();
        bool moved;
        lock (_ackGate) moved = ackable > _surfacedMax;
        if (surfaced.Count > 0 || repeated || moved) ScheduleAck(surfaced.Count, ackable, repeated);
        if (_inbox.HasGap) StartGapFill(connection);
        if (_groups.HasGaps) StartGroupFill(connection);
    }

    /// <summary>The inbox cursor that may be acknowledged: cur_max, but below any inbox message a group still holds
    /// (acknowledged, it would never be pushed again should the client die before the group gap is filled).</summary>
    private long AckableSeq() => Math.Min(_inbox.CurMax, (_groups.LowestHeldSeq ?? long.MaxValue) - 1);

    /// <summary>Batches the cumulative ack: due at once after <see cref="ChatClientOptions.AckBatchSize"/> messages,
    /// else <see cref="ChatClientOptions.AckBatchDelay"/> after the first unacknowledged one.</summary>
    private void ScheduleAck(int surfacedCount, long ackable, bool repeat)
    {
        bool earlier;
        lock (_ackGate)
        {
            _surfacedMax = Math.Max(_surfacedMax, ackable);
            _unacked += surfacedCount;
            _ackForced |= repeat;
            var now = _time.GetUtcNow();
            var due = _unacked >= _options.AckBatchSize ? now : now + _options.AckBatchDelay;
            earlier = due < _ackDue;
            if (earlier) _ackDue = due;
        }
        if (earlier) Wake();
    }

    /// <summary>Writes the cumulative inbox ack and the large groups' acks if they are due, then has the cursors saved.</summary>
    private async ValueTask FlushAckAsync(Connection connection, DateTimeOffset now)
    {
        long seq;
        bool send;
        bool allGroups;
        lock (_ackGate)
        {
            if (now < _ackDue) return;
            _ackDue = DateTimeOffset.MaxValue;
            seq = _surfacedMax;
            send = seq >= 1 && (seq > _ackedSeq || _ackForced);
            _unacked = 0;
            _ackForced = false;
            allGroups = _groupAcksForced;
            _groupAcksForced = false;
            if (send) _ackedSeq = seq;
        }
        var groupAcks = _groups.TakeAcksDue(allGroups);
        if (!send && groupAcks.Count == 0) return;
        if (send) await connection.WriteAsync(ClientFrames.Write(new AckFrame { Seq = seq }));
        foreach (var (group, cseq) in groupAcks)
        {
            await connection.WriteAsync(ClientFrames.Write(new AckFrame { Group = group, Cseq = cseq }),
                () => connection.ExpectReply(PendingReply.ForGroupAck(group)));
        }
        _cursors.Record(send ? seq : null, _groups.Cursors());
    }

    /// <summary>
    /// The one writer of sends and acks on a connection. Its first pass retransmits every unacknowledged send in
    /// <c>req</c> order, before anything new; then it transmits new sends, retransmits overdue ones with the same
    /// <c>req</c>, fails those out of attempts, and flushes acks as they fall due.
    /// </summary>
    private async Task WriteLoopAsync(Connection connection)
    {
        using var stopOrDrop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.Token);
        var transmit = new List<OutgoingRequest>();
        var failed = new List<OutgoingRequest>();
        var firstPass = true;
        try
        {
            while (!stopOrDrop.IsCancellationRequested)
            {
                var now = _time.GetUtcNow();
                await FlushAckAsync(connection, now);
                var nextSend = _outbox.Plan(connection.Id, firstPass, now, _options.SendTimeout, _options.MaxSendAttempts, transmit, failed);
                firstPass = false;
                foreach (var message in failed) Announce(message);
                foreach (var message in transmit)
                {
                    await _cursors.EnsureReservedAsync(message.Req, connection.Token);
                    await connection.WriteAsync(message.Frame);
                }
                transmit.Clear();
                failed.Clear();

                DateTimeOffset nextAck;
                lock (_ackGate) nextAck = _ackDue;
                await WaitForWorkAsync(nextSend < nextAck ? nextSend : nextAck, stopOrDrop.Token);
            }
        }
        catch (Exception) when (stopOrDrop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            connection.Abort();
        }
        catch (Exception e)
        {
            RaiseError(null, e);
            connection.Abort();
        }
    }

    /// <summary>Waits until <paramref name="wakeAt"/> or until a send or an earlier ack wakes the writer.</summary>
    private async Task WaitForWorkAsync(DateTimeOffset wakeAt, CancellationToken cancellationToken)
    {
        var delay = wakeAt == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : wakeAt - _time.GetUtcNow();
        if (delay != Timeout.InfiniteTimeSpan)
        {
            if (delay <= TimeSpan.Zero) return;
            if (delay > TimeSpan.FromDays(1)) delay = TimeSpan.FromDays(1);
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signal = _wake.Reader.WaitToReadAsync(wait.Token).AsTask();
        try
        {
            if (delay == Timeout.InfiniteTimeSpan) await signal;
            else await Task.WhenAny(signal, Task.Delay(delay, _time, wait.Token));
        }
        finally
        {
            wait.Cancel();
        }
        _wake.Reader.TryRead(out _);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task HeartbeatLoopAsync(Connection connection, TimeSpan interval)
    {
        using var stopOrDrop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.Token);
        try
        {
            while (true)
            {
                await Task.Delay(interval, _time, stopOrDrop.Token);
                // Every ping is answered, so silence this long means the path is dead even if TCP has not noticed.
                if (connection.SinceLastReceived > interval * 2 + _options.RequestTimeout)
                {
                    connection.Abort();
                    return;
                }
                await connection.WriteAsync(PingFrameBytes, () => connection.ExpectReply(PendingReply.ForPong(null, _time.GetTimestamp())));
            }
        }
        catch (Exception) when (stopOrDrop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            connection.Abort();
        }
    }

    private void StartGapFill(Connection connection)
    {
        if (connection.TryBeginGapFill()) _ = Task.Run(() => FillGapAsync(connection));
    }

    /// <summary>Asks <c>sync {after: cur_max}</c> until the messages behind the gap can be surfaced.</summary>
    private async Task FillGapAsync(Connection connection)
    {
        using var stopOrDrop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.Token);
        var idle = 0;
        try
        {
            while (!stopOrDrop.IsCancellationRequested && Volatile.Read(ref _gapAfter) is var after and >= 0)
            {
                try
                {
                    await SyncOnAsync(connection, after, _options.SyncPageSize, stopOrDrop.Token);
                }
                catch (ChatException e) when (e.Code != ClientErrorCodes.Disconnected)
                {
                    RaiseError(null, e);
                }
                // No progress: the missing entry is not readable yet (or a retransmission is on its way). Back off.
                if (Volatile.Read(ref _gapAfter) == after) await Task.Delay(Backoff(idle++), _time, stopOrDrop.Token);
                else idle = 0;
            }
        }
        catch (Exception) when (stopOrDrop.IsCancellationRequested)
        {
        }
        catch (ChatException)
        {
            // Disconnected: the next welcome looks at the gap again.
        }
        catch (Exception e)
        {
            RaiseError(null, e);
        }
        finally
        {
            connection.EndGapFill();
            // A gap that opened while this loop was ending found the flag still set: look once more.
            if (Volatile.Read(ref _gapAfter) >= 0 && !stopOrDrop.IsCancellationRequested) StartGapFill(connection);
        }
    }

    private void StartGroupFill(Connection connection)
    {
        if (connection.TryBeginGroupFill()) _ = Task.Run(() => FillGroupsAsync(connection));
    }

    private bool HasGroupWork(Connection connection) => _groups.HasGaps || connection.CatchUps().Count > 0;

    /// <summary>
    /// Asks <c>gsync {group, after: group cursor}</c> for every large group with messages held behind a <c>cseq</c> gap,
    /// and for every large group pushed to this connection until a page says there is no more (the hello page is at
    /// most one page: docs/protocol.md).
    /// </summary>
    private async Task FillGroupsAsync(Connection connection)
    {
        using var stopOrDrop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.Token);
        var idle = 0;
        try
        {
            if (!connection.HelloPagesArrived)
            {
                // The server writes the hello pages before it reads our next frame: once a ping written now is answered
                // they have all arrived, and the first gsync does not ask again for what they brought.
                await PingOnAsync(connection, stopOrDrop.Token);
                connection.HelloPagesArrived = true;
            }
            while (!stopOrDrop.IsCancellationRequested)
            {
                var work = _groups.Gaps().Union(connection.CatchUps(), StringComparer.Ordinal).ToList();
                if (work.Count == 0) break;
                var progressed = false;
                foreach (var group in work)
                {
                    var after = _groups.CursorOf(group);
                    if (after < 0)
                    {
                        progressed |= connection.CompleteCatchUp(group);
                        continue;
                    }
                    try
                    {
                        var page = await GsyncOnAsync(connection, group, after, _options.GsyncPageSize, stopOrDrop.Token);
                        if (!page.More) progressed |= connection.CompleteCatchUp(group);
                    }
                    catch (ChatException e) when (e.Code is ErrorCodes.Forbidden or ErrorCodes.NotFound)
                    {
                        // Not (or no longer) readable: the receive loop has released what the group held.
                        progressed |= connection.CompleteCatchUp(group);
                    }
                    catch (ChatException e) when (e.Code != ClientErrorCodes.Disconnected)
                    {
                        RaiseError(null, e);
                    }
                    progressed |= _groups.CursorOf(group) != after;
                }
                // No progress: what is missing is not readable yet. Back off.
                if (!progressed) await Task.Delay(Backoff(idle++), _time, stopOrDrop.Token);
                else idle = 0;
            }
        }
        catch (Exception) when (stopOrDrop.IsCancellationRequested)
        {
        }
        catch (ChatException)
        {
            // Disconnected: the next welcome looks at the gaps again.
        }
        catch (Exception e)
        {
            RaiseError(null, e);
        }
        finally
        {
            connection.EndGroupFill();
            // Work that arrived while this loop was ending found the flag still set: look once more.
            if (!stopOrDrop.IsCancellationRequested && HasGroupWork(connection)) StartGroupFill(connection);
        }
    }

    private async Task CloseGracefullyAsync(Connection connection, Task receive)
    {
        try
        {
            await connection.Writer;
            await FlushAckAsync(connection, DateTimeOffset.MaxValue);
            await connection.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closing");
            await receive.WaitAsync(_options.RequestTimeout, _time);
        }
        catch (Exception)
        {
            connection.Abort();
        }
    }

    private void OnError(Connection connection, ErrorFrame error, List<MsgFrame> surfaced)
    {
        if (error.Req is { } req)
        {
            if (error.Code is ErrorCodes.RateLimited or ErrorCodes.Unavailable)
            {
                var now = _time.GetUtcNow();
                if (_outbox.Defer(req, connection.Id, attempts => now + Backoff(attempts - 1))) Wake();
            }
            else if (_outbox.Fail(req, error.Code, error.Message) is { } failed)
            {
                Announce(failed);
            }
            return;
        }
        // Without req, an error answers the oldest sync, gsync or group ack still open (the server answers in order).
        var refused = connection.TakeRefused();
        var notReadable = error.Code is ErrorCodes.Forbidden or ErrorCodes.NotFound;
        switch (refused?.Kind)
        {
            case ReplyKind.Sync:
                refused.Sync!.TrySetException(new ChatException(error.Code, error.Message));
                return;
            case ReplyKind.Gsync:
                if (notReadable)
                {
                    // The gap will never be filled: show what the group held rather than keep it (and the inbox) waiting.
                    surfaced.Clear();
                    _groups.Release(refused.Group!, surfaced);
                    Surface(connection, surfaced, repeated: false);
                }
                refused.Gsync!.TrySetException(new ChatException(error.Code, error.Message));
                return;
            case ReplyKind.GroupAck when notReadable:
                _groups.AckRefused(refused.Group!);
                return;
        }
        RaiseError(error, null);
    }

    private void Announce(OutgoingRequest message)
    {
        try
        {
            message.Announce();
        }
        catch (Exception e)
        {
            RaiseError(null, e);
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var max = _options.ReconnectMaxDelay.TotalMilliseconds;
        var ms = Math.Min(max, _options.ReconnectInitialDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30)));
        ms *= 1 + _options.ReconnectJitter * (Random.Shared.NextDouble() * 2 - 1);
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, max));
    }
}
