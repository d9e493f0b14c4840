using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// One WebSocket and what belongs to it alone: the write lock that keeps frames from interleaving, the frames
/// still owed an answer (sync, gsync, ping, group acks) in wire order, the large groups it is catching up, and its
/// lifetime. A reconnect makes a new one.
/// </summary>
internal sealed class Connection(int id, ClientWebSocket socket, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _inbound = new(16 * 1024);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentQueue<PendingReply> _replies = new();
    private readonly Lock _groupGate = new();
    private readonly HashSet<string> _catchUp = new(StringComparer.Ordinal);
    private readonly HashSet<string> _catchUpStarted = new(StringComparer.Ordinal);
    private long _lastReceived = time.GetTimestamp();
    private int _gapFilling;
    private int _groupFilling;

    public int Id { get; } = id;
    public ClientWebSocket Socket { get; } = socket;

    /// <summary>Cancelled when the connection is torn down; socket operations use it (cancelling one aborts the socket).</summary>
    public CancellationToken Token => _lifetime.Token;

    public WelcomeFrame? Welcome { get; set; }
    public Task Writer { get; set; } = Task.CompletedTask;
    public string? HandshakeError { get; set; }

    /// <summary>True once a ping written after the welcome was answered: every hello page of the large groups has arrived.</summary>
    public bool HelloPagesArrived { get; set; }

    public TimeSpan SinceLastReceived => time.GetElapsedTime(Volatile.Read(ref _lastReceived));

    public bool TryBeginGapFill() => Interlocked.CompareExchange(ref _gapFilling, 1, 0) == 0;
    public void EndGapFill() => Volatile.Write(ref _gapFilling, 0);

    public bool TryBeginGroupFill() => Interlocked.CompareExchange(ref _groupFilling, 1, 0) == 0;
    public void EndGroupFill() => Volatile.Write(ref _groupFilling, 0);

    /// <summary>
    /// Asks for one <c>gsync</c> catch-up of <paramref name="group"/> on this connection (its first pushed message
    /// may open a hello page the server cut at its page size); false when one was asked already.
    /// </summary>
    public bool RequestCatchUp(string group)
    {
        lock (_groupGate) return _catchUpStarted.Add(group) && _catchUp.Add(group);
    }

    /// <summary>The groups still to be caught up.</summary>
    public List<string> CatchUps()
    {
        lock (_groupGate) return [.. _catchUp];
    }

    /// <summary>Ends the catch-up of <paramref name="group"/> (its last page said no more); false when it was not pending.</summary>
    public bool CompleteCatchUp(string group)
    {
        lock (_groupGate) return _catchUp.Remove(group);
    }

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

    /// <summary>Records a frame that is owed an answer; call it under the write lock (<see cref="WriteAsync"/>'s
    /// <c>whileLocked</c>), so the queue is in wire order.</summary>
    public void ExpectReply(PendingReply reply) => _replies.Enqueue(reply);

    /// <summary>
    /// The frame a <paramref name="kind"/> answer belongs to: the oldest open one of that kind. Group acks before it
    /// were answered with silence (they succeeded); a sync or gsync before it was skipped by the server and fails.
    /// Null when none is open. Called by the receive loop only.
    /// </summary>
    public PendingReply? TakeReply(ReplyKind kind)
    {
        while (_replies.TryDequeue(out var reply))
        {
            if (reply.Kind == kind) return reply;
            reply.Fail(new ChatException(ClientErrorCodes.Timeout, $"the server answered a later {kind} first; this {reply.Kind} got no reply"));
        }
        return null;
    }

    /// <summary>The frame an <c>error</c> without <c>req</c> answers: the oldest open sync, gsync or group ack (a ping is
    /// never refused); null when none is open.</summary>
    public PendingReply? TakeRefused()
    {
        if (!_replies.TryPeek(out var oldest) || oldest.Kind == ReplyKind.Pong) return null;
        _replies.TryDequeue(out _);
        return oldest;
    }

    /// <summary>Ends everything of this connection: socket aborted, waiters failed.</summary>
    public void Abort()
    {
        try { _lifetime.Cancel(); } catch (ObjectDisposedException) { }
        Socket.Abort();
    }

    public void FailWaiters(Exception error)
    {
        while (_replies.TryDequeue(out var reply)) reply.Fail(error);
    }

    public void Dispose()
    {
        // The lock and the token source stay undisposed: a late PingAsync or SyncAsync may still touch them and
        // must get a cancellation, not an ObjectDisposedException. Neither holds anything unmanaged.
        Abort();
        Socket.Dispose();
    }
}
