using System.Buffers;
using System.Net.WebSockets;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// One client WebSocket: the transport of a <see cref="DeviceSession"/>. One loop reads frames, checks their size and
/// kind, and hands them to the session; one writer sends the session's frames from a bounded queue
/// (<see cref="FrameOutput"/>), so frames never interleave and a slow socket never blocks the pipeline; the close
/// handshake waits for the acks still owed. The protocol itself — hello, acks, sync, delivery — is the session's.
/// </summary>
public sealed partial class ChatConnection : IAcceptReply, IDeviceTransport
{
    private readonly WebSocket _socket;
    private readonly ChatNode _node;
    private readonly DeviceSession _session;
    private FrameOutput _output = null!;
    private readonly AbuseCounter _badFrames;
    private readonly AbuseCounter _floods;
    private readonly SendRateLimiter _rate;
    private readonly SendOrder _order = new();
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _helloTimer;
    private int _inflight;
    private int _closeRequested;

    public ChatConnection(WebSocket socket, ChatNode node)
    {
        (_socket, _node) = (socket, node);
        _badFrames = new AbuseCounter(10, TimeSpan.FromSeconds(10), node.Time);
        _floods = new AbuseCounter(10, TimeSpan.FromSeconds(10), node.Time);
        _rate = new SendRateLimiter(node.Limits.SendsPerSecond, node.Limits.SendBurst, node.Time);
        _session = node.Sessions.Create(this);
    }

    public async Task RunAsync(CancellationToken aborted)
    {
        _output = new FrameOutput(_socket, _node.Gateway.MaxQueuedBytes, aborted)
        {
            Overflowed = () => Close(CloseCodes.TooSlow, "reading too slowly"),
            // Let the client read the close frame and answer it; tearing the socket down at once could discard it.
            AfterClose = () => _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default),
        };
        // Once output is done (closed, or the socket failed), the read loop may be blocked in ReceiveAsync: abort the socket,
        // which ends it (no linked cancellation source and registration held for the connection's whole life).
        // Only while it still reads: once it has ended, the socket closes gracefully and its close frame reaches the client.
        _ = _output.Done.ContinueWith(static (_, state) =>
        {
            var connection = (ChatConnection)state!;
            if (!connection._readerDone.Task.IsCompleted) connection._socket.Abort();
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var helloTimeout = _node.Gateway.HelloTimeout;
        using var helloTimer = _helloTimer = _node.Time.CreateTimer(_ =>
        {
            if (_session.State == DeviceSessionState.AwaitingHello) Close(CloseCodes.Unauthorized, $"no hello within {helloTimeout.TotalSeconds:0.###} s");
        }, null, helloTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await ReadLoopAsync(aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            _readerDone.TrySetResult();
            await _session.LeaveAsync().ConfigureAwait(false);
            RequestClose();
            await _output.Done.ConfigureAwait(false);
        }
    }

    bool IDeviceTransport.TryWrite(byte[] frame) => _output.TryWrite(frame);

    /// <summary>Ends the connection with a close code, after the frames already queued.</summary>
    public void Close(int code, string reason)
    {
        // The first reason given is the one the client sees.
        Interlocked.CompareExchange(ref _closeCode, new CloseReason(code, reason), null);
        _session.MarkClosed();
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
        while (_session.State != DeviceSessionState.Closed && _socket.State == WebSocketState.Open)
        {
            // Wait for data with no buffer: an idle connection holds no receive memory (docs/benchmarks.md).
            var ready = await _socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
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
                        if (buffer.Length > _node.Limits.MaxFrameBytes)
                        {
                            TooLarge();
                            return;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _node.Limits.MaxFrameBytes + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    length += result.Count;
                } while (!result.EndOfMessage);

                if (length > _node.Limits.MaxFrameBytes)
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
        Send(new ErrorFrame { Code = ErrorCodes.TooLarge, Message = $"a frame is at most {_node.Limits.MaxFrameBytes} bytes" });
        Close(CloseCodes.TooLarge, "frame too large");
    }

    private async ValueTask HandleFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        var awaitingHello = _session.State == DeviceSessionState.AwaitingHello;
        string type;
        try
        {
            type = FrameCodec.ReadType(frame.Span);
        }
        catch (FrameException e)
        {
            if (awaitingHello) Unauthorized(e.Message);
            else BadFrame(e, null);
            return;
        }

        try
        {
            if (awaitingHello)
            {
                if (type != FrameTypes.Hello) Unauthorized("the first frame must be hello");
                else await HelloAsync(frame, cancellationToken).ConfigureAwait(false);
                return;
            }
            switch (type)
            {
                case FrameTypes.Send: await SendAsync(FrameCodec.Read<SendFrame>(frame.Span), cancellationToken).ConfigureAwait(false); break;
                case FrameTypes.Ping: Send(new PongFrame()); break;
                default: await _session.HandleAsync(type, frame.Span, cancellationToken).ConfigureAwait(false); break;
            }
        }
        catch (FrameException e)
        {
            BadFrame(e, type == FrameTypes.Send ? FrameCodec.TryReadReq(frame.Span) : null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A backing service failed: the client retries later; the connection stays (docs/protocol.md `unavailable`).
            LogFrameFailed(_node.Logger, e, type);
            Send(new ErrorFrame { Code = ErrorCodes.Unavailable, Message = "a backing service is unavailable; retry later", Req = type == FrameTypes.Send ? FrameCodec.TryReadReq(frame.Span) : null });
            if (awaitingHello) Close(CloseCodes.TryAgainLater, "hello failed: a backing service is unavailable");
        }
    }

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
        var user = await _node.Tokens.ValidateAsync(hello.Token, cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            Unauthorized("invalid or expired token");
            return;
        }
        try
        {
            if (await _session.HelloAsync(user, hello, cancellationToken).ConfigureAwait(false)) _helloTimer?.Dispose();
        }
        catch (FrameException e) when (e.Code == ErrorCodes.Unauthorized)
        {
            Unauthorized(e.Message);
        }
    }

    private async ValueTask SendAsync(SendFrame send, CancellationToken cancellationToken)
    {
        if (!_rate.TryTake())
        {
            Send(new ErrorFrame { Code = ErrorCodes.RateLimited, Message = "send rate limit exceeded; retry later with the same req", Req = send.Req });
            if (_floods.Record()) Close(CloseCodes.RateLimited, "flooding past the rate limit");
            return;
        }
        // Counted until answered: output ends only once every send taken has its ack or its refusal.
        Interlocked.Increment(ref _inflight);
        try
        {
            await _session.SendAsync(send, this, cancellationToken).ConfigureAwait(false);
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
        _order.Taken(req);
        Send(new SendAckFrame { Req = req, Id = record.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Conv = record.Conv, Ts = record.Ts, Cseq = cseq, Seq = seq });
        Answered();
    }

    void IAcceptReply.Rejected(long req, SendRejection rejection)
    {
        if (rejection.Code == ErrorCodes.Unavailable) _order.NotTaken(req);
        Send(new ErrorFrame { Code = rejection.Code, Message = rejection.Message, Req = req });
        Answered();
    }

    bool IAcceptReply.Admits(long req) => _order.Admits(req);

    private void Answered()
    {
        if (Interlocked.Decrement(ref _inflight) == 0 && Volatile.Read(ref _closeRequested) == 1) CompleteOutput();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a '{Type}' frame failed")]
    private static partial void LogFrameFailed(ILogger logger, Exception exception, string type);

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
}
