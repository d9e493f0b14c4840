using System.Buffers;
using System.Net.WebSockets;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// One client WebSocket: the transport of a <see cref="DeviceSession"/>, bytes only. One loop reads frames, checks their
/// size and that they are text, and hands each to the session; one writer sends the session's frames from a bounded queue
/// (<see cref="FrameOutput"/>), so frames never interleave and a slow socket never blocks the pipeline, and whatever waits
/// there goes out with one flush (<see cref="CorkedStream"/>); a timer closes a
/// socket that says no hello in time; the close handshake lets the client read the close frame. Everything the frames
/// mean — hello, sends, acks, sync, delivery — is the session's.
/// </summary>
public sealed partial class ChatConnection : IDeviceTransport, IFrameOutputOwner
{
    private readonly WebSocket _socket;
    private readonly CorkedStream? _cork;
    private readonly DeviceSession _session;
    private readonly LimitsOptions _limits;
    private readonly GatewayOptions _gateway;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FrameOutput _output = null!;
    // Until the session is welcomed (or closed): a welcomed connection holds no timer.
    private ITimer? _helloTimer;

    /// <param name="cork">The stream under <paramref name="socket"/>, corked for each drain of the output; null writes and flushes each frame on its own.</param>
    public ChatConnection(WebSocket socket, CorkedStream? cork, DeviceSessions sessions, LimitsOptions limits, GatewayOptions gateway, TimeProvider time,
        ILogger<ChatConnection>? logger = null)
    {
        (_socket, _cork, _limits, _gateway, _time) = (socket, cork, limits, gateway, time);
        _logger = logger ?? NullLogger<ChatConnection>.Instance;
        _session = sessions.Create(this);
    }

    private readonly ILogger _logger;

    public async Task RunAsync(CancellationToken aborted)
    {
        _output = new FrameOutput(_socket, _gateway.MaxQueuedBytes, aborted, _cork, this);
        _helloTimer = _time.CreateTimer(static state =>
        {
            var connection = (ChatConnection)state!;
            connection._session.HelloTimedOut(connection._gateway.HelloTimeout);
        }, this, _gateway.HelloTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await ReadLoopAsync(aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The peer went away without a close, or the socket was aborted: routine, but named for whoever looks.
            LogReadEnded(_logger, e, _session.User, _session.Device, e.Message);
        }
        finally
        {
            _helloTimer?.Dispose();
            _readerDone.TrySetResult();
            // The session answers every send it took before the output ends.
            await _session.LeaveAsync().ConfigureAwait(false);
            var close = _session.CloseReason;
            _output.Complete(close?.Code, close?.Reason);
            await _output.Done.ConfigureAwait(false);
        }
    }

    bool IDeviceTransport.TryWrite(byte[] frame) => _output.TryWrite(frame);

    void IFrameOutputOwner.Overflowed() => _session.Close(CloseCodes.TooSlow, "reading too slowly");

    // Let the client read the close frame and answer it; tearing the socket down at once could discard it.
    Task IFrameOutputOwner.AfterCloseAsync() => _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default);

    // Once output is done (closed, or the socket failed), the read loop may be blocked in ReceiveAsync: abort the socket,
    // which ends it (no cancellation registration held for the connection's whole life). Only while it still reads: once it
    // has ended, the socket closes gracefully and its close frame reaches the client.
    void IFrameOutputOwner.Finished()
    {
        if (!_readerDone.Task.IsCompleted) _socket.Abort();
    }

    void IDeviceTransport.Close(int code, string reason) => _output.Complete(code, reason);

    /// <summary>Ends the connection with a close code, after the answers its session owes.</summary>
    public void Close(int code, string reason) => _session.Close(code, reason);

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        while (_session.State != DeviceSessionState.Closed && _socket.State == WebSocketState.Open)
        {
            // Wait for data with no buffer: an idle connection holds no receive memory (docs/benchmarks.md), nor a
            // cancellation registration — the output's end aborts the socket, which ends this wait.
            var ready = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
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
                        if (buffer.Length > _limits.MaxFrameBytes)
                        {
                            TooLarge();
                            return;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _limits.MaxFrameBytes + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    length += result.Count;
                } while (!result.EndOfMessage);

                if (length > _limits.MaxFrameBytes)
                {
                    TooLarge();
                    return;
                }
                if (result.MessageType != WebSocketMessageType.Text) _session.NotText();
                else await _session.HandleAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                if (_helloTimer is not null && _session.State != DeviceSessionState.AwaitingHello)
                {
                    _helloTimer.Dispose();
                    _helloTimer = null;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void TooLarge()
    {
        _output.TryWrite(FrameCodec.Write(new ErrorFrame { Code = ErrorCodes.TooLarge, Message = $"a frame is at most {_limits.MaxFrameBytes} bytes" }));
        _session.Close(CloseCodes.TooLarge, "frame too large");
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The connection of {User}/{Device} ended without a close handshake: {Reason}")]
    private static partial void LogReadEnded(ILogger logger, Exception exception, string user, string device, string reason);
}
