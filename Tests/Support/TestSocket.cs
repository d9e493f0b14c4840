using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AspireChat.Protocol;

namespace AspireChat.Tests.Support;

/// <summary>A raw protocol v1 client for tests: sends any text, reads frames as JSON with timeouts.</summary>
public sealed class TestSocket : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<(int? Code, string? Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reader;

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

    public async Task SendTextAsync(string text) =>
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

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
    /// of the same inbox (it is ordered by <c>seq</c>), a later relayed frame on the same path.
    /// </summary>
    public async Task<JsonElement> ExpectBeforeAsync(string expected, params string[] mustNotPrecede)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var frame = await ReceiveAsync(Left(DefaultTimeout, clock));
            var t = frame.GetProperty("t").GetString();
            if (t == expected) return frame;
            if (mustNotPrecede.Contains(t)) Assert.Fail($"a '{t}' frame arrived before the '{expected}' that must come first: {frame.GetRawText()}");
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
                await _frames.Writer.WriteAsync(document.RootElement.Clone());
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
