using System.Net.WebSockets;
using AspireChat.Protocol;

namespace AspireChat.Client;

// The connection loop: handshake, the receive loop that dispatches every server frame, the writer loop that owns
// sends and acks, the heartbeat, gap filling, and reconnection with backoff.
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
                _firstWelcome.TrySetException(new ChatException(ErrorCodes.Unauthorized, disconnect.Meaning));
                _ = _firstWelcome.Task.Exception;
                SetState(ChatClientState.Unauthorized, disconnect);
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
            // The last ack may have died with the previous socket: repeat it once on this one.
            if (_surfacedMax >= 1)
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
        var hello = new HelloFrame { Token = token, Device = _options.Device, Cursor = cursor, Groups = _cursors.Groups };
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
                    if (_outbox.Acknowledge(FrameCodec.Read<SendAckFrame>(utf8)) is { } sent) Announce(sent);
                    break;
                case FrameTypes.Sync:
                    var page = FrameCodec.Read<SyncReplyFrame>(utf8);
                    Deliver(connection, page.Items, surfaced, pushed: false);
                    connection.TakePendingSync()?.TrySetResult(page);
                    break;
                case FrameTypes.Pong:
                    if (connection.Pongs.TryDequeue(out var pong)) pong.Waiter?.TrySetResult(_time.GetElapsedTime(pong.Started));
                    break;
                case FrameTypes.Error:
                    OnError(connection, FrameCodec.Read<ErrorFrame>(utf8));
                    break;
                // A repeated welcome, gsync pages (large groups are not handled yet) and frame types of a later
                // protocol version are ignored.
            }
        }
        catch (FrameException e)
        {
            RaiseError(null, e);
        }
    }

    /// <summary>Runs received messages through the inbox: surfaces what is in order, schedules the ack, fills gaps.</summary>
    private void Deliver(Connection connection, IReadOnlyList<MsgFrame> items, List<MsgFrame> surfaced, bool pushed)
    {
        surfaced.Clear();
        var repeated = false;
        foreach (var item in items)
        {
            // A pushed retransmission of something already surfaced means the server missed our ack: say it again.
            // (A sync page repeating held entries means nothing of the sort.)
            if (_inbox.Accept(item, surfaced) == InboxOutcome.Duplicate && pushed && item.Seq <= _inbox.CurMax) repeated = true;
        }

        var sequenced = 0;
        foreach (var message in surfaced)
        {
            if (message.Seq is not null) sequenced++;
            _messages.Writer.TryWrite(message);
            try
            {
                MessageReceived?.Invoke(this, message);
            }
            catch (Exception e)
            {
                RaiseError(null, e);
            }
        }

        Volatile.Write(ref _gapAfter, _inbox.HasGap ? _inbox.CurMax : -1);
        if (sequenced > 0 || repeated) ScheduleAck(sequenced, repeated);
        if (_inbox.HasGap) StartGapFill(connection);
    }

    /// <summary>Batches the cumulative ack: due at once after <see cref="ChatClientOptions.AckBatchSize"/> messages,
    /// else <see cref="ChatClientOptions.AckBatchDelay"/> after the first unacknowledged one.</summary>
    private void ScheduleAck(int surfacedCount, bool repeat)
    {
        bool earlier;
        lock (_ackGate)
        {
            _surfacedMax = _inbox.CurMax;
            _unacked += surfacedCount;
            _ackForced |= repeat;
            var now = _time.GetUtcNow();
            var due = _unacked >= _options.AckBatchSize ? now : now + _options.AckBatchDelay;
            earlier = due < _ackDue;
            if (earlier) _ackDue = due;
        }
        if (earlier) Wake();
    }

    /// <summary>Writes the cumulative ack if it is due, then has the cursor saved.</summary>
    private async ValueTask FlushAckAsync(Connection connection, DateTimeOffset now)
    {
        long seq;
        lock (_ackGate)
        {
            if (now < _ackDue) return;
            _ackDue = DateTimeOffset.MaxValue;
            seq = _surfacedMax;
            var send = seq >= 1 && (seq > _ackedSeq || _ackForced);
            _unacked = 0;
            _ackForced = false;
            if (!send) return;
            _ackedSeq = seq;
        }
        await connection.WriteAsync(ClientFrames.Write(new AckFrame { Seq = seq }));
        _cursors.RecordAck(seq);
    }

    /// <summary>
    /// The one writer of sends and acks on a connection. Its first pass retransmits every unacknowledged send in
    /// <c>req</c> order, before anything new; then it transmits new sends, retransmits overdue ones with the same
    /// <c>req</c>, fails those out of attempts, and flushes acks as they fall due.
    /// </summary>
    private async Task WriteLoopAsync(Connection connection)
    {
        using var stopOrDrop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.Token);
        var transmit = new List<OutgoingMessage>();
        var failed = new List<OutgoingMessage>();
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
                await connection.WriteAsync(PingFrameBytes, () => connection.Pongs.Enqueue((null, _time.GetTimestamp())));
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

    private void OnError(Connection connection, ErrorFrame error)
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
        // Replies carry no request id; with one sync in flight, an error without req most likely answers it.
        if (connection.TakePendingSync() is { } sync)
        {
            sync.TrySetException(new ChatException(error.Code, error.Message));
            return;
        }
        RaiseError(error, null);
    }

    private void Announce(OutgoingMessage message)
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
