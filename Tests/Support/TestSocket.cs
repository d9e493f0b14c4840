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
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var frame = await ReceiveAsync(deadline - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.FromMilliseconds(1));
            if (frame.GetProperty("t").GetString() == t) return frame;
        }
    }

    /// <summary>Collects <paramref name="count"/> frames of type <paramref name="t"/>, skipping others.</summary>
    public async Task<List<JsonElement>> ExpectManyAsync(string t, int count, TimeSpan? timeout = null)
    {
        var frames = new List<JsonElement>(count);
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (frames.Count < count)
        {
            frames.Add(await ExpectAsync(t, deadline - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.FromMilliseconds(1)));
        }
        return frames;
    }

    /// <summary>True when no frame of type <paramref name="t"/> arrives within <paramref name="quiet"/>.</summary>
    public async Task<bool> StaysQuietAsync(string t, TimeSpan quiet)
    {
        try
        {
            await ExpectAsync(t, quiet);
            return false;
        }
        catch (TimeoutException)
        {
            return true;
        }
    }

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
