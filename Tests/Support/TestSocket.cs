using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AspireChat.Protocol;

namespace AspireChat.Tests.Support;

/// <summary>
/// A raw protocol v1 client for tests: sends any text, reads frames as JSON with timeouts. Like every client it takes a
/// send's <c>ack</c> that carries <c>seq</c> (embedded mode) as its own inbox entry of the message (docs/protocol.md §8.2):
/// right after such an ack, it queues the <c>msg</c> that entry stands for — the send it answers, with the ack's
/// <c>seq</c>, <c>id</c>, <c>conv</c>, <c>cseq</c> and <c>ts</c> — marked <c>"heldFromAck": true</c>, since the server
/// does not push it. A test that is about the wire tells the two apart by that mark.
/// </summary>
public sealed class TestSocket : IAsyncDisposable
{
    /// <summary>The property that marks a <c>msg</c> this socket made from a send's <c>ack</c> (it did not come off the wire).</summary>
    public const string HeldFromAck = "heldFromAck";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<(int? Code, string? Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reader;
    // The sends this socket wrote, by req: what an ack with seq stands for.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, JsonElement> _sent = new();
    private string? _user;

    public static async Task<TestSocket> OpenAsync(Uri uri)
    {
        var socket = new TestSocket();
        await socket._socket.ConnectAsync(uri, CancellationToken.None);
        socket._reader = Task.Run(socket.ReadLoopAsync);
        return socket;
    }

    public JsonElement Welcome { get; private set; }

    /// <summary>Completes with the close code once the server closes the socket.</summary>
    public Task<(int? Code, string? Reason)> Closed => _closed.Task;

    public async Task HelloAsync(string token, string device, long? cursor = null)
    {
        await SendAsync(cursor is { } c
            ? new { t = "hello", token, device, cursor = c }
            : (object)new { t = "hello", token, device });
        Welcome = await ExpectAsync("welcome");
    }

    public Task SendAsync(object frame) => SendTextAsync(JsonSerializer.Serialize(frame));

    public async Task SendTextAsync(string text)
    {
        RememberSend(text);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    private void RememberSend(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var frame = document.RootElement;
            if (frame.ValueKind == JsonValueKind.Object && frame.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.String
                && t.GetString() == "send" && frame.TryGetProperty("req", out var req) && req.TryGetInt64(out var r))
                _sent[r] = frame.Clone();
        }
        catch (JsonException)
        {
            // Not JSON: a test of bad input.
        }
    }

    // The msg an ack with seq stands for: the send it answers, placed where the ack says.
    private JsonElement? OwnEntryOf(JsonElement ack)
    {
        if (!ack.TryGetProperty("seq", out var seq) || !ack.TryGetProperty("req", out var req) || !_sent.TryGetValue(req.GetInt64(), out var send))
            return null;
        var msg = new System.Text.Json.Nodes.JsonObject
        {
            ["t"] = "msg",
            ["seq"] = seq.GetInt64(),
            ["id"] = ack.GetProperty("id").GetString(),
            ["conv"] = ack.GetProperty("conv").GetString(),
            ["cseq"] = ack.TryGetProperty("cseq", out var cseq) ? cseq.GetInt64() : 0,
            ["ope"] = send.GetProperty("ope").GetInt32(),
            ["from"] = _user,
            ["to"] = send.GetProperty("to").GetString(),
            ["type"] = send.GetProperty("type").GetInt32(),
            ["body"] = System.Text.Json.Nodes.JsonNode.Parse(send.GetProperty("body").GetRawText()),
            ["ts"] = ack.GetProperty("ts").GetInt64(),
            [HeldFromAck] = true,
        };
        if (send.TryGetProperty("ex", out var ex) && ex.ValueKind == JsonValueKind.Object) msg["ex"] = System.Text.Json.Nodes.JsonNode.Parse(ex.GetRawText());
        return JsonSerializer.SerializeToElement(msg);
    }

    public Task SendChatAsync(long req, string to, string text, int ope = 0) =>
        SendAsync(new { t = "send", req, ope, to, type = 1, body = new { text } });

    /// <summary>The next frame, whatever its type.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _frames.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no frame arrived in time");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the socket closed ({(await Closed).Code})");
        }
    }

    /// <summary>The next frame of type <paramref name="t"/>; frames of other types before it are skipped.</summary>
    public async Task<JsonElement> ExpectAsync(string t, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            var frame = await ReceiveAsync(Left(limit, clock));
            if (frame.GetProperty("t").GetString() == t) return frame;
        }
    }

    /// <summary>The next <c>msg</c> the server pushed (not one this socket made from an ack); other frames before it are skipped.</summary>
    public async Task<JsonElement> ExpectPushAsync(TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            var frame = await ExpectAsync("msg", Left(limit, clock));
            if (!IsHeldFromAck(frame)) return frame;
        }
    }

    /// <summary>True for a <c>msg</c> this socket made from a send's <c>ack</c> that carried its <c>seq</c>.</summary>
    public static bool IsHeldFromAck(JsonElement frame) => frame.TryGetProperty(HeldFromAck, out var held) && held.ValueKind == JsonValueKind.True;

    /// <summary>Collects <paramref name="count"/> frames of type <paramref name="t"/>, skipping others.</summary>
    public async Task<List<JsonElement>> ExpectManyAsync(string t, int count, TimeSpan? timeout = null)
    {
        var frames = new List<JsonElement>(count);
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (frames.Count < count) frames.Add(await ExpectAsync(t, Left(limit, clock)));
        return frames;
    }

    /// <summary>
    /// The next frame of type <paramref name="expected"/>, failing the test if a frame of a type in
    /// <paramref name="mustNotPrecede"/> arrives before it. This is how a test proves that something did not happen:
    /// <paramref name="expected"/> is an event that must come after it, had it happened — the <c>pong</c> to a
    /// <c>ping</c> for this socket's own effects (a connection's frames are answered in order), a later <c>msg</c>
    /// of the same inbox (it is ordered by <c>seq</c>), a later relayed frame on the same path. What the server sent is
    /// what counts: a <c>msg</c> this socket made from an ack is not one that arrived.
    /// </summary>
    public async Task<JsonElement> ExpectBeforeAsync(string expected, params string[] mustNotPrecede)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var frame = await ReceiveAsync(Left(DefaultTimeout, clock));
            var t = frame.GetProperty("t").GetString();
            if (t == expected) return frame;
            if (mustNotPrecede.Contains(t) && !IsHeldFromAck(frame)) Assert.Fail($"a '{t}' frame arrived before the '{expected}' that must come first: {frame.GetRawText()}");
        }
    }

    /// <summary>
    /// Sends a <c>ping</c>, and fails the test if a frame of a type in <paramref name="mustNotPrecede"/> arrives before its
    /// <c>pong</c>: nothing of those types was queued for this socket before the ping was answered.
    /// </summary>
    public async Task AssertNoneBeforePongAsync(params string[] mustNotPrecede)
    {
        await SendAsync(new { t = "ping" });
        await ExpectBeforeAsync("pong", mustNotPrecede);
    }

    private static TimeSpan Left(TimeSpan limit, Stopwatch clock) =>
        limit - clock.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.FromMilliseconds(1);

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    // Replies (sync, gsync pages) may exceed any fixed buffer: grow it.
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length).ToArraySegment(), CancellationToken.None);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(((int?)_socket.CloseStatus, _socket.CloseStatusDescription));
                    return;
                }
                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                var frame = document.RootElement.Clone();
                await _frames.Writer.WriteAsync(frame);
                var t = frame.TryGetProperty("t", out var type) ? type.GetString() : null;
                if (t == "welcome") _user = frame.GetProperty("user").GetString();
                else if (t == "ack" && OwnEntryOf(frame) is { } own) await _frames.Writer.WriteAsync(own);
            }
        }
        catch (Exception)
        {
            _closed.TrySetResult((null, null));
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
            }
        }
        catch (Exception)
        {
        }
        _socket.Dispose();
        if (_reader is not null) await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
    }
}

internal static class MemoryExtensions2
{
    public static ArraySegment<byte> ToArraySegment(this Memory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out var segment) ? segment : throw new InvalidOperationException();
}
