using System.Net.WebSockets;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// A socket's outgoing frames: a queue and a writer that runs only while there is something to write. An idle
/// connection holds no write loop, no pending read of a channel and no cancellation registration — just this
/// object. Frames go out in the order queued, one sender at a time; <see cref="Complete"/> lets the queued frames
/// out and then closes the socket's output with the close code. Past <c>maxQueuedBytes</c> waiting, the reader is too
/// slow: what waits is dropped (it is in the inbox) and the socket is closed with 4408 (<see cref="IFrameOutputOwner.Overflowed"/>).
/// With a <paramref name="cork"/> (the stream under the socket), each drain — every frame waiting, and those queued while
/// it runs — is written with one flush of the connection rather than one per frame, in pieces of at most
/// <see cref="FlushBytes"/>.
/// </summary>
public sealed class FrameOutput(WebSocket socket, long maxQueuedBytes, CancellationToken aborted, CorkedStream? cork = null, IFrameOutputOwner? owner = null)
{
    /// <summary>Most bytes of frames gathered under the cork before they are flushed (the drain goes on after).</summary>
    public const int FlushBytes = 64 * 1024;

    private readonly Lock _gate = new();
    private readonly WebSocket _socket = socket;
    private Queue<byte[]>? _frames;
    private long _queuedBytes;
    private bool _writing;
    private bool _completed;
    private (int Code, string Reason) _close = ((int)WebSocketCloseStatus.NormalClosure, "");
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the output is closed (or the socket failed); after that nothing more is written.</summary>
    public Task Done => _done.Task;

    /// <summary>Bytes of frames waiting now.</summary>
    public long QueuedBytes { get { lock (_gate) return _queuedBytes; } }

    /// <summary>Queues a frame; false once the output is completed.</summary>
    public bool TryWrite(byte[] frame)
    {
        lock (_gate)
        {
            if (_completed) return false;
            if (_queuedBytes + frame.Length > maxQueuedBytes)
            {
                GiveUpLocked();
                return false;
            }
            _queuedBytes += frame.Length;
            (_frames ??= new Queue<byte[]>()).Enqueue(frame);
            if (_writing) return true;
            _writing = true;
        }
        Start();
        return true;
    }

    /// <summary>Writes what is queued, then the close frame with <paramref name="code"/> (the first completion's code wins).</summary>
    public void Complete(int? code = null, string? reason = null)
    {
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            if (code is { } c) _close = (c, reason ?? "");
            if (_writing) return;
            _writing = true;
        }
        Start();
    }

    // The writer runs on the thread pool, not on the caller's thread: callers are the pipeline's loop and routing,
    // which must not spend their time framing and writing one socket's burst.
    private void Start() => ThreadPool.UnsafeQueueUserWorkItem(static output => _ = output.WriteAsync(), this, preferLocal: false);

    // The reader is too slow: drop what waits and close after the frame in flight. A reader that does not take even
    // that within a few seconds has its socket aborted, which ends the send that waits for it.
    private void GiveUpLocked()
    {
        _frames?.Clear();
        _queuedBytes = 0;
        _completed = true;
        _close = (Protocol.CloseCodes.TooSlow, "reading too slowly; reconnect and resume from your cursor");
        if (!_writing)
        {
            _writing = true;
            Start();
        }
        _ = Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(static (_, state) =>
        {
            var output = (FrameOutput)state!;
            if (!output._done.Task.IsCompleted) output._socket.Abort();
        }, this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        if (owner is not null) ThreadPool.UnsafeQueueUserWorkItem(static owner => owner.Overflowed(), owner, preferLocal: false);
    }

    private async Task WriteAsync()
    {
        try
        {
            // Corked, a frame's send only gathers it: nothing to cancel. Uncorked, a send that waits for a slow reader ends
            // with the connection.
            var sendToken = cork is null ? aborted : CancellationToken.None;
            while (true)
            {
                cork?.Cork();
                var corked = 0;
                while (Take() is { } frame)
                {
                    await _socket.SendAsync(frame, WebSocketMessageType.Text, true, sendToken).ConfigureAwait(false);
                    corked += frame.Length;
                    if (cork is null || corked < FlushBytes) continue;
                    await cork.UncorkAsync(aborted).ConfigureAwait(false);
                    cork.Cork();
                    corked = 0;
                }
                if (cork is not null) await cork.UncorkAsync(aborted).ConfigureAwait(false);
                lock (_gate)
                {
                    // Frames queued during the flush: another drain. Else the writer stops, unless the output is complete.
                    if (_frames is { Count: > 0 }) continue;
                    if (!_completed)
                    {
                        // Idle again: the queue goes too (an idle connection holds none).
                        _frames = null;
                        _writing = false;
                        return;
                    }
                }
                break;
            }
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_close.Code, _close.Reason, timeout.Token).ConfigureAwait(false);
                if (owner is not null) await owner.AfterCloseAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
        }
        lock (_gate)
        {
            _completed = true;
            _frames = null;
        }
        owner?.Finished();
        _done.TrySetResult();
    }

    private byte[]? Take()
    {
        lock (_gate)
        {
            if (_frames is not { Count: > 0 } queued) return null;
            var frame = queued.Dequeue();
            _queuedBytes -= frame.Length;
            return frame;
        }
    }
}

/// <summary>What a <see cref="FrameOutput"/> tells the connection it belongs to.</summary>
public interface IFrameOutputOwner
{
    /// <summary>The queue overflowed and the output was given up: the owner closes the connection. Called once, on the thread pool.</summary>
    void Overflowed();

    /// <summary>The close frame is sent: completes once the client had its chance to answer it, before the socket is torn down.</summary>
    Task AfterCloseAsync();

    /// <summary>The output is done (closed, or the socket failed): nothing more is written.</summary>
    void Finished();
}
