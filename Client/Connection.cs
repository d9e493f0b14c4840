using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// One WebSocket and what belongs to it alone: the write lock that keeps frames from interleaving, the reply
/// waiters (sync, pong), and its lifetime. A reconnect makes a new one.
/// </summary>
internal sealed class Connection(int id, ClientWebSocket socket, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _inbound = new(16 * 1024);
    private readonly CancellationTokenSource _lifetime = new();
    private TaskCompletionSource<SyncReplyFrame>? _pendingSync;
    private long _lastReceived = time.GetTimestamp();
    private int _gapFilling;

    public int Id { get; } = id;
    public ClientWebSocket Socket { get; } = socket;

    /// <summary>Cancelled when the connection is torn down; socket operations use it (cancelling one aborts the socket).</summary>
    public CancellationToken Token => _lifetime.Token;

    public WelcomeFrame? Welcome { get; set; }
    public Task Writer { get; set; } = Task.CompletedTask;
    public string? HandshakeError { get; set; }

    /// <summary>Pongs owed by the server, oldest first; a null waiter is a heartbeat ping nobody awaits.</summary>
    public ConcurrentQueue<(TaskCompletionSource<TimeSpan>? Waiter, long Started)> Pongs { get; } = new();

    public TimeSpan SinceLastReceived => time.GetElapsedTime(Volatile.Read(ref _lastReceived));

    public bool TryBeginGapFill() => Interlocked.CompareExchange(ref _gapFilling, 1, 0) == 0;
    public void EndGapFill() => Volatile.Write(ref _gapFilling, 0);

    /// <summary>Writes one whole frame; <paramref name="whileLocked"/> runs under the write lock just before it, so
    /// waiters are queued in wire order.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, Action? whileLocked = null)
    {
        await _writeLock.WaitAsync(Token);
        try
        {
            whileLocked?.Invoke();
            await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, Token);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads one whole frame; null when the server closed. The memory is valid until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReceiveAsync(int maxBytes)
    {
        _inbound.ResetWrittenCount();
        while (true)
        {
            var result = await Socket.ReceiveAsync(_inbound.GetMemory(4096), Token);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            _inbound.Advance(result.Count);
            if (_inbound.WrittenCount > maxBytes)
                throw new WebSocketException(WebSocketError.Faulted, $"server frame exceeds {maxBytes} bytes");
            if (result.EndOfMessage)
            {
                Volatile.Write(ref _lastReceived, time.GetTimestamp());
                return _inbound.WrittenMemory;
            }
        }
    }

    /// <summary>Starts the close handshake; the receive loop then sees the server's close.</summary>
    public async Task CloseOutputAsync(WebSocketCloseStatus status, string description)
    {
        await _writeLock.WaitAsync(Token);
        try
        {
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await Socket.CloseOutputAsync(status, description, Token);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void SetPendingSync(TaskCompletionSource<SyncReplyFrame>? waiter) => Volatile.Write(ref _pendingSync, waiter);

    public TaskCompletionSource<SyncReplyFrame>? TakePendingSync() => Interlocked.Exchange(ref _pendingSync, null);

    public void ClearPendingSync(TaskCompletionSource<SyncReplyFrame> waiter) => Interlocked.CompareExchange(ref _pendingSync, null, waiter);

    /// <summary>Ends everything of this connection: socket aborted, waiters failed.</summary>
    public void Abort()
    {
        try { _lifetime.Cancel(); } catch (ObjectDisposedException) { }
        Socket.Abort();
    }

    public void FailWaiters(Exception error)
    {
        TakePendingSync()?.TrySetException(error);
        while (Pongs.TryDequeue(out var pong)) pong.Waiter?.TrySetException(error);
    }

    public void Dispose()
    {
        // The lock and the token source stay undisposed: a late PingAsync or SyncAsync may still touch them and
        // must get a cancellation, not an ObjectDisposedException. Neither holds anything unmanaged.
        Abort();
        Socket.Dispose();
    }
}
