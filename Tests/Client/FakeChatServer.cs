using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Client;

/// <summary>What the fake server answers to a <c>send</c>.</summary>
internal sealed record SendVerdict(string Kind, string? Code = null)
{
    public static readonly SendVerdict Ack = new("ack");
    public static readonly SendVerdict Withhold = new("withhold");
    public static SendVerdict Error(string code) => new("error", code);
}

/// <summary>A frame the fake server received, with the connection it came on (1, 2, … in accept order).</summary>
internal sealed record ReceivedFrame(int Connection, string Type, byte[] Utf8)
{
    public T As<T>() where T : class => FrameCodec.Read<T>(Utf8);
    public string Json => System.Text.Encoding.UTF8.GetString(Utf8);
}

/// <summary>
/// Just enough of the server half of protocol v1, on Kestrel at 127.0.0.1:0, for the client SDK tests: it records
/// every frame and lets the test script its answers (withhold or refuse acks, hold the welcome, push msgs, close or
/// drop the socket). Sends and operations (edit, recall, react, pin) are deduplicated by req like the real server: a retransmission gets the same id. It
/// answers <c>sync</c> from alice's inbox and <c>gsync</c> from group timelines the test fills.
/// </summary>
internal sealed class FakeChatServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<ReceivedFrame> _received = [];
    private readonly List<FakeConnection> _connections = [];
    private readonly Dictionary<long, int> _sendAttempts = [];
    private readonly SortedDictionary<long, MsgFrame> _inbox = [];
    private readonly Dictionary<string, SortedDictionary<long, MsgFrame>> _groups = [];
    private long _nextId = 7_000_000_000_000_000_000;

    private FakeChatServer(WebApplication app) => _app = app;

    public Uri Uri { get; private set; } = null!;
    public string User { get; set; } = "alice";
    /// <summary>Heartbeat seconds announced in welcome; 0 turns the client's pings off.</summary>
    public int Heartbeat { get; set; } = 30;
    /// <summary>Answer hello with <c>error unauthorized</c> and close 4401.</summary>
    public bool RefuseHello { get; set; }
    /// <summary>When set, the welcome waits for it (the client is then handshaking).</summary>
    public TaskCompletionSource? HoldWelcome { get; set; }
    /// <summary>Runs when a client's close arrives, before it is answered (as the real server drains what it still owes).</summary>
    public Func<FakeConnection, Task>? BeforeCloseReply { get; set; }
    /// <summary>Decides each send: (frame, connection, attempt number of this req) → verdict.</summary>
    public Func<SendFrame, FakeConnection, int, SendVerdict> OnSend { get; set; } = (_, _, _) => SendVerdict.Ack;
    /// <summary>Decides each edit, recall, react and pin: (received frame, attempt number of its req) → verdict.</summary>
    public Func<ReceivedFrame, int, SendVerdict> OnOperation { get; set; } = (_, _) => SendVerdict.Ack;

    public static async Task<FakeChatServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeChatServer(app);
        app.UseWebSockets();
        app.Map("/ws", server.AcceptAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Uri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");
        return server;
    }

    public IReadOnlyList<FakeConnection> Connections
    {
        get { lock (_gate) return _connections.ToList(); }
    }

    public IReadOnlyList<ReceivedFrame> Received
    {
        get { lock (_gate) return _received.ToList(); }
    }

    public List<T> Frames<T>(string type, int? connection = null) where T : class =>
        Received.Where(f => f.Type == type && (connection is null || f.Connection == connection)).Select(f => f.As<T>()).ToList();

    /// <summary>Transmissions of <paramref name="req"/> so far, whether it is a send or an operation.</summary>
    public int SendAttempts(long req)
    {
        lock (_gate) return _sendAttempts.GetValueOrDefault(req);
    }

    /// <summary>Puts a message into alice's inbox (what <c>sync</c> reads) and returns it, to push or not.</summary>
    public MsgFrame AddToInbox(long seq)
    {
        var msg = Message(seq);
        lock (_gate) _inbox[seq] = msg;
        return msg;
    }

    /// <summary>Puts a message into a group's timeline (what <c>gsync</c> reads) and returns it, to push or not.</summary>
    public MsgFrame AddToGroup(string gid, long cseq, long? seq = null)
    {
        var msg = GroupMessage(gid, cseq, seq);
        lock (_gate)
        {
            if (!_groups.TryGetValue(gid, out var timeline)) _groups[gid] = timeline = [];
            timeline[cseq] = msg with { Seq = null };
        }
        return msg;
    }

    /// <summary>Puts <paramref name="message"/> (e.g. an operation entry) into its group's timeline at its <c>cseq</c> and returns it.</summary>
    public MsgFrame AddToGroup(MsgFrame message)
    {
        lock (_gate)
        {
            var gid = message.Conv[2..];
            if (!_groups.TryGetValue(gid, out var timeline)) _groups[gid] = timeline = [];
            timeline[message.Cseq] = message with { Seq = null };
        }
        return message;
    }

    /// <summary>A message of group <paramref name="gid"/>: with <paramref name="seq"/> as the inbox delivers it, without as a large group's push.</summary>
    public static MsgFrame GroupMessage(string gid, long cseq, long? seq = null) => new()
    {
        Seq = seq,
        Id = $"8{gid.Length:00}{cseq:000000}",
        Conv = Identifiers.GroupConversation(gid),
        Cseq = cseq,
        Ope = Ope.Group,
        From = "bob",
        To = gid,
        Type = 1,
        Body = JsonDocument.Parse($$"""{"text":"{{gid}}#{{cseq}}"}""").RootElement,
        Ts = 1_700_000_000_000 + cseq,
    };

    public static MsgFrame Message(long? seq, string? id = null, long cseq = 0) => new()
    {
        Seq = seq,
        Id = id ?? $"90000{seq}",
        Conv = "s:alice:bob",
        Cseq = cseq == 0 && seq is { } s ? s : cseq,
        Ope = Ope.OneToOne,
        From = "bob",
        To = "alice",
        Type = 1,
        Body = JsonDocument.Parse($$"""{"text":"message {{seq}}"}""").RootElement,
        Ts = 1_700_000_000_000 + (seq ?? 0),
    };

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        FakeConnection connection;
        lock (_gate)
        {
            connection = new FakeConnection(_connections.Count + 1, socket);
            _connections.Add(connection);
        }
        try
        {
            await ServeAsync(connection);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ConnectionAbortedException)
        {
        }
        finally
        {
            connection.MarkEnded();
        }
    }

    private async Task ServeAsync(FakeConnection connection)
    {
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await connection.Socket.ReceiveAsync(buffer.GetMemory(4096), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (BeforeCloseReply is { } beforeClose) await beforeClose(connection);
                    if (connection.Socket.State == WebSocketState.CloseReceived)
                        await connection.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                buffer.Advance(result.Count);
            } while (!result.EndOfMessage);

            var utf8 = buffer.WrittenSpan.ToArray();
            var type = FrameCodec.ReadType(utf8);
            lock (_gate) _received.Add(new ReceivedFrame(connection.Id, type, utf8));
            await AnswerAsync(connection, type, utf8);
        }
    }

    private async Task AnswerAsync(FakeConnection connection, string type, byte[] utf8)
    {
        switch (type)
        {
            case FrameTypes.Hello:
                var hello = FrameCodec.Read<HelloFrame>(utf8);
                connection.Hello = hello;
                if (RefuseHello)
                {
                    await connection.SendAsync(new ErrorFrame { Code = ErrorCodes.Unauthorized, Message = "bad token" });
                    await connection.CloseAsync(CloseCodes.Unauthorized, "unauthorized");
                    return;
                }
                if (HoldWelcome is { } hold) await hold.Task;
                long head;
                lock (_gate) head = _inbox.Count == 0 ? 0 : _inbox.Keys.Max();
                await connection.SendAsync(new WelcomeFrame { User = User, Device = hello.Device, Node = "fake", Head = head, Heartbeat = Heartbeat });
                break;

            case FrameTypes.Send:
                var send = FrameCodec.Read<SendFrame>(utf8);
                int attempt;
                lock (_gate) attempt = _sendAttempts[send.Req] = _sendAttempts.GetValueOrDefault(send.Req) + 1;
                var verdict = OnSend(send, connection, attempt);
                if (verdict == SendVerdict.Ack)
                {
                    // Same id for every attempt of a req: the server deduplicates on (user, device, req).
                    var id = (_nextId + send.Req % 1_000_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await connection.SendAsync(new SendAckFrame { Req = send.Req, Id = id, Conv = Identifiers.ConversationOf(send.Ope, User, send.To), Ts = 1_700_000_000_000 });
                }
                else if (verdict.Kind == "error")
                {
                    await connection.SendAsync(new ErrorFrame { Req = send.Req, Code = verdict.Code!, Message = "scripted " + verdict.Code });
                }
                break;

            case FrameTypes.Edit or FrameTypes.Recall or FrameTypes.React or FrameTypes.Pin:
                using (var operation = JsonDocument.Parse(utf8))
                {
                    var req = operation.RootElement.GetProperty("req").GetInt64();
                    var conv = operation.RootElement.GetProperty("conv").GetString()!;
                    int tries;
                    lock (_gate) tries = _sendAttempts[req] = _sendAttempts.GetValueOrDefault(req) + 1;
                    var decision = OnOperation(new ReceivedFrame(connection.Id, type, utf8), tries);
                    if (decision == SendVerdict.Ack)
                    {
                        var id = (_nextId + req % 1_000_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        await connection.SendAsync(new SendAckFrame { Req = req, Id = id, Conv = conv, Ts = 1_700_000_000_000 });
                    }
                    else if (decision.Kind == "error")
                    {
                        await connection.SendAsync(new ErrorFrame { Req = req, Code = decision.Code!, Message = "scripted " + decision.Code });
                    }
                }
                break;

            case FrameTypes.Sync:
                var sync = FrameCodec.Read<SyncFrame>(utf8);
                List<MsgFrame> items;
                bool more;
                lock (_gate)
                {
                    var after = _inbox.Values.Where(m => m.Seq > sync.After).ToList();
                    items = after.Take(sync.Limit).ToList();
                    more = after.Count > items.Count;
                }
                await connection.SendAsync(new SyncReplyFrame { Items = items, Next = items.Count == 0 ? sync.After : items[^1].Seq!.Value, More = more });
                break;

            case FrameTypes.Gsync:
                var gsync = FrameCodec.Read<GsyncFrame>(utf8);
                List<MsgFrame>? page = null;
                bool pageMore = false;
                lock (_gate)
                {
                    if (_groups.TryGetValue(gsync.Group, out var timeline))
                    {
                        var after = timeline.Values.Where(m => m.Cseq > gsync.After).ToList();
                        page = after.Take(gsync.Limit).ToList();
                        pageMore = after.Count > page.Count;
                    }
                }
                if (page is null)
                    await connection.SendAsync(new ErrorFrame { Code = ErrorCodes.NotFound, Message = $"group '{gsync.Group}' does not exist" });
                else
                    await connection.SendAsync(new GsyncReplyFrame { Group = gsync.Group, Items = page, Next = page.Count == 0 ? gsync.After : page[^1].Cseq, More = pageMore });
                break;

            case FrameTypes.Ping:
                await connection.SendAsync(new PongFrame());
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        HoldWelcome?.TrySetResult();
        foreach (var connection in Connections) connection.Abort();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One accepted socket of the fake server: the test pushes frames, closes or drops it.</summary>
internal sealed class FakeConnection(int id, WebSocket socket)
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Id { get; } = id;
    public WebSocket Socket { get; } = socket;
    public HelloFrame? Hello { get; set; }
    public Task Ended => _ended.Task;

    public async Task SendAsync<T>(T frame) where T : class
    {
        await _write.WaitAsync();
        try
        {
            await Socket.SendAsync(FrameCodec.Write(frame), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _write.Release();
        }
    }

    public async Task PushAsync(params MsgFrame[] messages)
    {
        foreach (var message in messages) await SendAsync(message);
    }

    public async Task CloseAsync(int code, string reason)
    {
        await _write.WaitAsync();
        try
        {
            await Socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>Drops the socket without a close handshake, like a dead network path.</summary>
    public void Abort() => Socket.Abort();

    internal void MarkEnded() => _ended.TrySetResult();
}
