using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Bench.Transport;

/// <summary>A <c>msg</c> as a load client received it.</summary>
/// <param name="IsNew">False for a retransmission of a <c>seq</c> already received.</param>
public readonly record struct ReceivedMessage(long? Seq, string Id, string Conv, long Cseq, string From, int Type, long Req, int Sender, bool IsNew);

/// <summary>
/// A send's <c>ack</c> as a load client received it. <paramref name="Seq"/>: the sender's own inbox entry of the message,
/// when the ack carries it (embedded mode) — the device holds that entry from the ack and is not pushed it
/// (docs/protocol.md §8.2); <paramref name="IsNew"/> is false when that seq was already held.
/// </summary>
public readonly record struct ReceivedAck(long Req, string Id, string Conv, long Cseq, long? Seq, bool IsNew);

/// <summary>What a load client does with the server's frames. Called on the socket's receive loop: keep it short.</summary>
public interface IBenchSocketHandler
{
    void OnAck(BenchSocket socket, in ReceivedAck ack);
    void OnError(BenchSocket socket, long? req, string code, string message);
    void OnMessage(BenchSocket socket, in ReceivedMessage message);
    void OnClosed(BenchSocket socket, Exception? error);
}

/// <summary>
/// A lean protocol v1 device for load: hello/welcome, pipelined sends, cumulative acks, and every frame handed to
/// the handler as it came off the wire. Unlike the Client SDK it neither retransmits, nor drops duplicates, nor
/// fills gaps with <c>sync</c>: the checker must see what the server really sent, and a send the server never
/// answers must show up as unanswered. It acknowledges like the SDK: cumulatively, after
/// <see cref="AckEvery"/> messages or within <see cref="AckFlusher.Interval"/>. A send's ack that carries the
/// sender's own inbox <c>seq</c> counts as that entry received, as in the SDK.
/// </summary>
public sealed class BenchSocket : IAsyncDisposable
{
    /// <summary>Received messages that trigger an immediate cumulative ack (the SDK's default batch).</summary>
    public const int AckEvery = 100;

    private readonly ClientWebSocket _socket;
    private readonly IBenchSocketHandler _handler;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _frame = new(256);
    private readonly SortedSet<long> _ahead = [];
    private readonly Lock _seqGate = new();
    private Task _receive = Task.CompletedTask;
    private long _curMax = -1;
    private long _ackedSeq;
    private int _ackQueued;
    private bool _ackForced;
    // Set by CloseAsync: the receive loop's failure after our own close is not a drop.
    private volatile bool _closing;
    // With MarksRead: per conversation, the highest cseq others sent that is not marked read yet (guarded by _seqGate).
    private readonly Dictionary<string, long> _unread = new(StringComparer.Ordinal);

    private BenchSocket(ClientWebSocket socket, string user, string device, IBenchSocketHandler handler) =>
        (_socket, User, Device, _handler) = (socket, user, device, handler);

    public string User { get; }
    public string Device { get; }
    public WelcomeFrame Welcome { get; private set; } = null!;

    /// <summary>Completes when the receive loop ends (the server closed, or the socket failed).</summary>
    public Task Completion => _receive;

    public bool IsOpen => _socket.State == WebSocketState.Open;

    /// <summary>
    /// Marks what others sent read, as an app showing every conversation would: with each cumulative ack, one
    /// <c>read {conv, cseq}</c> per conversation that received messages since the last one.
    /// </summary>
    public bool MarksRead { get; set; }

    /// <summary>Opens the socket (through <paramref name="invoker"/> when a source address is bound), says hello and waits for welcome.</summary>
    public static async Task<BenchSocket> ConnectAsync(Uri server, HttpMessageInvoker? invoker, string user, string device, string token,
        long? cursor, IBenchSocketHandler handler, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetBuffer(4096, 4096);
        var client = new BenchSocket(socket, user, device, handler);
        try
        {
            if (invoker is null) await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
            else await socket.ConnectAsync(server, invoker, cancellationToken).ConfigureAwait(false);
            if (cursor is { } c) client._curMax = client._ackedSeq = c;
            var hello = FrameCodec.Write(new HelloFrame { Token = token, Device = device, Cursor = cursor });
            await socket.SendAsync(hello, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            client.Welcome = await client.ReadWelcomeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        client._receive = Task.Run(client.ReceiveLoopAsync, CancellationToken.None);
        return client;
    }

    /// <summary>Sends a chat message whose body carries <c>r</c> = req and <c>s</c> = the sender's index, padded with text.</summary>
    public async ValueTask SendChatAsync(long req, int ope, string to, int senderIndex, string padding)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _frame.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(_frame))
            {
                json.WriteStartObject();
                json.WriteString("t"u8, "send"u8);
                json.WriteNumber("req"u8, req);
                json.WriteNumber("ope"u8, ope);
                json.WriteString("to"u8, to);
                json.WriteNumber("type"u8, 1);
                json.WriteStartObject("body"u8);
                json.WriteNumber("r"u8, req);
                json.WriteNumber("s"u8, senderIndex);
                json.WriteString("text"u8, padding);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            await _socket.SendAsync(_frame.WrittenMemory, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends an <c>edit</c> of <paramref name="target"/> whose body carries <c>r</c> and <c>s</c> like a message's, or a
    /// <c>react</c> whose emoji carries them (<c>👍 r{req} s{sender}</c>): the entry each becomes is told apart like a message.
    /// </summary>
    public async ValueTask SendOperationAsync(long req, string conv, string target, bool edit, int senderIndex, string padding)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _frame.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(_frame))
            {
                json.WriteStartObject();
                json.WriteString("t"u8, edit ? "edit"u8 : "react"u8);
                json.WriteNumber("req"u8, req);
                json.WriteString("conv"u8, conv);
                json.WriteString("target"u8, target);
                if (edit)
                {
                    json.WriteStartObject("body"u8);
                    json.WriteNumber("r"u8, req);
                    json.WriteNumber("s"u8, senderIndex);
                    json.WriteString("text"u8, padding);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteString("emoji"u8, ReceivedFrame.ReactionMark(req, senderIndex));
                    json.WriteBoolean("on"u8, true);
                }
                json.WriteEndObject();
            }
            await _socket.SendAsync(_frame.WrittenMemory, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes any frame (serialized writes: frames never interleave).</summary>
    public async ValueTask SendFrameAsync(ReadOnlyMemory<byte> frame)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Highest contiguous inbox seq received (the cumulative ack), -1 while none.</summary>
    public long CurMax
    {
        get { lock (_seqGate) return _curMax; }
    }

    private async Task<WelcomeFrame> ReadWelcomeAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var (length, type) = await ReadMessageAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (type == WebSocketMessageType.Close)
                throw new WebSocketException($"the server closed the socket before welcome ({(int?)_socket.CloseStatus} {_socket.CloseStatusDescription})");
            var span = buffer.AsSpan(0, length);
            var t = FrameCodec.ReadType(span);
            if (t == FrameTypes.Welcome) return FrameCodec.Read<WelcomeFrame>(span);
            if (t == FrameTypes.Error)
            {
                var error = FrameCodec.Read<ErrorFrame>(span);
                throw new WebSocketException($"hello refused: {error.Code}: {error.Message}");
            }
        }
    }

    private async ValueTask<(int Length, WebSocketMessageType Type)> ReadMessageAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == buffer.Length) throw new WebSocketException($"a frame larger than {buffer.Length} bytes");
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            length += result.Count;
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close) return (length, result.MessageType);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[4096];
        Exception? failure = null;
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                    length += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
                    }
                    break;
                }
                Dispatch(buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            failure = _closing ? null : e;
        }
        catch (Exception e)
        {
            failure = e;
        }
        _handler.OnClosed(this, failure);
    }

    private void Dispatch(ReadOnlySpan<byte> utf8)
    {
        var frame = ReceivedFrame.Parse(utf8);
        switch (frame.T)
        {
            case FrameTypes.Msg:
                OnMsg(ref frame);
                break;
            case FrameTypes.Ack when frame.HasReq:
                OnSendAck(ref frame);
                break;
            case FrameTypes.Error:
                _handler.OnError(this, frame.HasReq ? frame.Req : null, frame.Code ?? "", frame.Message ?? "");
                break;
        }
    }

    private void OnMsg(ref ReceivedFrame frame)
    {
        var isNew = true;
        var ack = AckDue.None;
        if (frame.Seq is { } seq)
        {
            lock (_seqGate)
            {
                // A pushed seq already held: the server missed our ack (or is retransmitting): say it again.
                (isNew, ack) = HoldLocked(seq, repeatAck: true);
                if (MarksRead && isNew && frame.Type >= 0 && frame.From != User && frame.Conv is { } conv
                    && (!_unread.TryGetValue(conv, out var known) || frame.Cseq > known)) _unread[conv] = frame.Cseq;
            }
        }
        _handler.OnMessage(this, new ReceivedMessage(frame.Seq, frame.Id ?? "", frame.Conv ?? "", frame.Cseq, frame.From ?? "", frame.Type,
            frame.BodyReq, frame.BodySender, isNew));
        Acknowledge(ack);
    }

    // A send's ack with the sender's own inbox seq: that entry is held, as if it had been pushed (docs/protocol.md §8.2).
    private void OnSendAck(ref ReceivedFrame frame)
    {
        var isNew = true;
        var ack = AckDue.None;
        if (frame.Seq is { } seq)
        {
            lock (_seqGate) (isNew, ack) = HoldLocked(seq, repeatAck: false);
        }
        _handler.OnAck(this, new ReceivedAck(frame.Req, frame.Id ?? "", frame.Conv ?? "", frame.Cseq, frame.Seq, isNew));
        Acknowledge(ack);
    }

    private enum AckDue { None, Later, Now }

    // Takes an inbox seq into cur_max and the entries held ahead of it; says whether it is new and when the ack is due.
    private (bool IsNew, AckDue Ack) HoldLocked(long seq, bool repeatAck)
    {
        var isNew = true;
        if (_curMax < 0) _curMax = _ackedSeq = seq - 1;
        if (seq <= _curMax || _ahead.Contains(seq))
        {
            isNew = false;
            _ackForced |= repeatAck;
        }
        else if (seq == _curMax + 1)
        {
            _curMax = seq;
            while (_ahead.Remove(_curMax + 1)) _curMax++;
        }
        else
        {
            _ahead.Add(seq);
        }
        if (_curMax - _ackedSeq >= AckEvery) return (isNew, AckDue.Now);
        return (isNew, _curMax > _ackedSeq || (!isNew && repeatAck) ? AckDue.Later : AckDue.None);
    }

    private void Acknowledge(AckDue due)
    {
        if (due == AckDue.Now) _ = FlushAckAsync();
        else if (due == AckDue.Later && Interlocked.Exchange(ref _ackQueued, 1) == 0) AckFlusher.Shared.Enqueue(this);
    }

    /// <summary>Sends the cumulative ack if there is something new to acknowledge (or a retransmission asked for it).</summary>
    internal async Task FlushAckAsync()
    {
        Volatile.Write(ref _ackQueued, 0);
        long seq;
        List<KeyValuePair<string, long>>? reads = null;
        lock (_seqGate)
        {
            if (_curMax <= _ackedSeq && !_ackForced) return;
            if (_curMax < 1) return;
            seq = _curMax;
            _ackedSeq = seq;
            _ackForced = false;
            if (_unread.Count > 0)
            {
                reads = [.. _unread];
                _unread.Clear();
            }
        }
        try
        {
            await SendFrameAsync(FrameCodec.Write(new AckFrame { Seq = seq })).ConfigureAwait(false);
            foreach (var (conv, cseq) in reads ?? []) await SendFrameAsync(FrameCodec.Write(new ReadFrame { Conv = conv, Cseq = cseq })).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The socket is gone; its receive loop reports that.
        }
    }

    /// <summary>Closes the socket (1000) and waits for the receive loop, at most two seconds.</summary>
    public async Task CloseAsync()
    {
        _closing = true;
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _writeLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
            await _receive.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
        {
        }
        finally
        {
            _socket.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _socket.Dispose();
        _writeLock.Dispose();
    }
}

/// <summary>Sends the acks that are due later, for every socket, from one timer (not one timer per connection).</summary>
public sealed class AckFlusher
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    public static readonly AckFlusher Shared = new();

    private readonly ConcurrentQueue<BenchSocket> _due = new();
    private readonly Timer _timer;
    private int _running;

    private AckFlusher() => _timer = new Timer(_ => Flush(), null, Interval, Interval);

    internal void Enqueue(BenchSocket socket) => _due.Enqueue(socket);

    private void Flush()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) return;
        try
        {
            var count = _due.Count;
            for (var i = 0; i < count && _due.TryDequeue(out var socket); i++) _ = socket.FlushAckAsync();
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}
