using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Collections.Concurrent;
using AspireChat.Messaging;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// One client WebSocket, as a state machine: awaiting hello → welcomed → closed (docs/protocol.md).
/// One loop reads frames; one loop writes them from a queue, so frames never interleave and a slow
/// socket never blocks the pipeline.
/// </summary>
public sealed partial class ChatConnection(WebSocket socket, ChatNode node) : IAcceptReply
{
    private enum State { AwaitingHello, Welcomed, Closed }

    private int _stateValue = (int)State.AwaitingHello;

    /// <summary>The connection's state; it changes only through <see cref="TryMove"/> and <see cref="MoveToClosed"/>.</summary>
    private State _state => (State)Volatile.Read(ref _stateValue);

    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> if the connection is still in <paramref name="from"/>;
    /// nothing leaves <see cref="State.Closed"/>. False when another transition came first.</summary>
    private bool TryMove(State from, State to) =>
        from != State.Closed && Interlocked.CompareExchange(ref _stateValue, (int)to, (int)from) == (int)from;

    private void MoveToClosed() => Volatile.Write(ref _stateValue, (int)State.Closed);

    private FrameOutput _output = null!;
    private readonly AbuseCounter _badFrames = new(10, TimeSpan.FromSeconds(10), node.Time);
    private readonly AbuseCounter _floods = new(10, TimeSpan.FromSeconds(10), node.Time);
    private readonly SendRateLimiter _rate = new(node.Limits.SendsPerSecond, node.Limits.SendBurst, node.Time);
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _helloTimer;
    private int _inflight;
    private int _closeRequested;
    private string _user = "";

    private InboxOrder _inboxOrder = null!;
    // The inbox seq this connection's device acknowledged last: an ack delivers what lies after it.
    private long _acked;
    private TypingThrottle? _typingField;
    private TypingThrottle _typing => LazyInitializer.EnsureInitialized(ref _typingField, () => new TypingThrottle(node.Time));
    private GroupCatchUp? _groupCatchUpField;
    private GroupCatchUp _groupCatchUp => LazyInitializer.EnsureInitialized(ref _groupCatchUpField, () => new GroupCatchUp(frame => _output.TryWrite(frame)));

    private ConcurrentDictionary<string, byte>? _groups;

    /// <summary>The groups whose local member map holds this connection (kept by the registry); made on first use.</summary>
    internal ConcurrentDictionary<string, byte> Groups => LazyInitializer.EnsureInitialized(ref _groups, () => new(StringComparer.Ordinal));

    /// <summary>The groups this connection is in, without making the map for a connection in none.</summary>
    internal IEnumerable<string> JoinedGroups => _groups?.Keys ?? (IEnumerable<string>)[];
    private string _device = "";

    public async Task RunAsync(CancellationToken aborted)
    {
        _output = new FrameOutput(socket, node.Gateway.MaxQueuedBytes, aborted)
        {
            Overflowed = () => Close(CloseCodes.TooSlow, "reading too slowly"),
            // Let the client read the close frame and answer it; tearing the socket down at once could discard it.
            AfterClose = () => _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default),
        };
        // Once output is done (closed, or the socket failed), the read loop may be blocked in ReceiveAsync: stop it.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _ = _output.Done.ContinueWith(_ =>
        {
            try { reading.Cancel(); }
            catch (ObjectDisposedException) { } // the connection already ended
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        using var helloTimer = _helloTimer = node.Time.CreateTimer(_ => { if (_state == State.AwaitingHello) Close(CloseCodes.Unauthorized, $"no hello within {node.HelloTimeout.TotalSeconds:0.###} s"); },
            null, node.HelloTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await ReadLoopAsync(reading.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            _readerDone.TrySetResult();
            await LeaveAsync().ConfigureAwait(false);
            RequestClose();
            await _output.Done.ConfigureAwait(false);
        }
    }

    /// <summary>Queues inbox entries for this device (called by routing); false once the connection is closing.</summary>
    public bool TryPush(IReadOnlyList<InboxEntry> entries)
    {
        if (_state != State.Welcomed) return false;
        Push(entries);
        return true;
    }

    /// <summary>Queues a relayed frame (read, receipt, typing); false once the connection is closing.</summary>
    public bool TrySignal(byte[] frame) => _state == State.Welcomed && _output.TryWrite(frame);

    /// <summary>Queues a large group's live message (its frame serialized once for every local member).</summary>
    public void PushGroupMessage(string gid, long cseq, byte[] frame)
    {
        if (_state == State.Welcomed) _groupCatchUp.Live(gid, cseq, frame);
    }

    /// <summary>Ends the connection with a close code, after the frames already queued.</summary>
    public void Close(int code, string reason)
    {
        // The first reason given is the one the client sees.
        Interlocked.CompareExchange(ref _closeCode, new CloseReason(code, reason), null);
        MoveToClosed();
        RequestClose();
    }

    private sealed record CloseReason(int Code, string Reason);

    private CloseReason? _closeCode;

    // Output ends once every send already taken has been answered, so an accepted send is never left
    // without its ack because the connection was closing.
    private void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        if (Volatile.Read(ref _inflight) == 0) CompleteOutput();
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        while (_state != State.Closed && socket.State == WebSocketState.Open)
        {
            // Wait for data with no buffer: an idle connection holds no receive memory (docs/benchmarks.md).
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
                case FrameTypes.Read: await ReadAsync(FrameCodec.Read<ReadFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Typing: await TypingAsync(FrameCodec.Read<TypingFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
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
            // A backing service failed: the client retries later; the connection stays (docs/protocol.md `unavailable`).
            LogFrameFailed(node.Logger, e, type);
            Send(new ErrorFrame { Code = ErrorCodes.Unavailable, Message = "a backing service is unavailable; retry later", Req = type == FrameTypes.Send ? TryReadReq(frame.Span) : null });
            if (_state == State.AwaitingHello) Close(CloseCodes.Unauthorized, "hello failed");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a '{Type}' frame failed")]
    private static partial void LogFrameFailed(ILogger logger, Exception exception, string type);

    private void Push(IReadOnlyList<InboxEntry> entries)
    {
        foreach (var entry in entries) _inboxOrder.Write(entry.Seq, FrameCodec.Write(entry.ToFrame()));
    }

    private void Send<T>(T frame) where T : class => _output.TryWrite(FrameCodec.Write(frame));

    private void CompleteOutput()
    {
        if (Volatile.Read(ref _closeCode) is { } close) _output.Complete(close.Code, close.Reason);
        else _output.Complete();
    }

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

    private async ValueTask LeaveAsync()
    {
        var wasWelcomed = _user.Length > 0;
        MoveToClosed();
        if (!wasWelcomed || !node.Registry.Remove(_user, _device, this)) return;
        await node.Pending.ForgetAsync(_user, _device).ConfigureAwait(false);
        await node.Presence.DisconnectAsync(_user, _device, node.Registry.Node).ConfigureAwait(false);
    }
}
