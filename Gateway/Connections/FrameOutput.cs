using System.Net.WebSockets;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// A socket's outgoing frames: a queue and a writer that runs only while there is something to write. An idle
/// connection holds no write loop, no pending read of a channel and no cancellation registration — just this
/// object. Frames go out in the order queued, one sender at a time; <see cref="Complete"/> lets the queued frames
/// out and then closes the socket's output with the close code.
/// </summary>
public sealed class FrameOutput(WebSocket socket, CancellationToken aborted)
{
    private readonly Lock _gate = new();
    private Queue<byte[]>? _frames;
    private bool _writing;
    private bool _completed;
    private (int Code, string Reason) _close = ((int)WebSocketCloseStatus.NormalClosure, "");
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the output is closed (or the socket failed); after that nothing more is written.</summary>
    public Task Done => _done.Task;

    /// <summary>Called after the close frame is sent, to let the client answer it before the socket is torn down.</summary>
    public Func<Task>? AfterClose { get; set; }

    /// <summary>Queues a frame; false once the output is completed.</summary>
    public bool TryWrite(byte[] frame)
    {
        lock (_gate)
        {
            if (_completed) return false;
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

    private async Task WriteAsync()
    {
        try
        {
            while (true)
            {
                byte[]? frame = null;
                lock (_gate)
                {
                    if (_frames is { Count: > 0 } queued) frame = queued.Dequeue();
                    else if (!_completed)
                    {
                        _writing = false;
                        return;
                    }
                }
                if (frame is null) break;
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, aborted).ConfigureAwait(false);
            }
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync((WebSocketCloseStatus)_close.Code, _close.Reason, timeout.Token).ConfigureAwait(false);
                if (AfterClose is { } after) await after().ConfigureAwait(false);
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
        _done.TrySetResult();
    }
}
