using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Threading.Channels;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Bench.Peers;

/// <summary>
/// The limit of protocol v1 on this machine: a raw WebSocket relay of AspireChat's own frames on Kestrel
/// (127.0.0.1:0, <c>GET /ws</c>) with the Protocol project's source-generated JSON. A client says <c>hello</c>
/// (its token is taken as its user name, unchecked) and gets a <c>welcome</c>; each <c>send</c> is parsed, made into
/// a <c>msg</c> frame of the shape and size AspireChat delivers (<c>id</c> of a Snowflake's width, <c>conv</c>, the
/// recipient's <c>seq</c>, the body as sent) and written to the recipient's socket. No store, no ack to the sender,
/// no copy to the sender's own device; the recipient's acks are read and dropped.
/// </summary>
public sealed class RawWebSocketRelay : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RawWebSocketRelay(WebApplication app, Uri webSocketUri) => (_app, WebSocketUri) = (app, webSocketUri);

    /// <summary>The <c>ws://…/ws</c> endpoint.</summary>
    public Uri WebSocketUri { get; }

    public static async Task<RawWebSocketRelay> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        var connections = new ConcurrentDictionary<string, RawRelayConnection>(StringComparer.Ordinal);
        app.UseWebSockets();
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            await new RawRelayConnection(socket, connections).RunAsync(context.RequestAborted).ConfigureAwait(false);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return new RawWebSocketRelay(app, new UriBuilder(address) { Scheme = "ws", Path = "/ws" }.Uri);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// One socket of the raw relay: one loop reads and relays, one loop writes from a queue (the Gateway's shape), so
/// frames never interleave and a slow recipient never blocks its senders.
/// </summary>
internal sealed class RawRelayConnection(WebSocket socket, ConcurrentDictionary<string, RawRelayConnection> connections)
{
    // Message ids: a counter above 2^60, so each is as wide as a Snowflake id (19 digits).
    private static long _lastId = 1L << 60;

    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _order = new();
    private string _user = "";
    private long _seq;

    public async Task RunAsync(CancellationToken aborted)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var writer = Task.Run(() => WriteLoopAsync(stop.Token), CancellationToken.None);
        try
        {
            await ReadLoopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            if (_user.Length > 0) connections.TryRemove(new KeyValuePair<string, RawRelayConnection>(_user, this));
            _outbound.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    length += result.Count;
                } while (!result.EndOfMessage);
                Handle(buffer.AsSpan(0, length));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Handle(ReadOnlySpan<byte> frame)
    {
        try
        {
            var type = FrameCodec.ReadType(frame);
            if (_user.Length == 0)
            {
                if (type == FrameTypes.Hello) Welcome(FrameCodec.Read<HelloFrame>(frame));
                else Send(new ErrorFrame { Code = ErrorCodes.Unauthorized, Message = "the first frame must be hello" });
                return;
            }
            switch (type)
            {
                case FrameTypes.Send: Relay(FrameCodec.Read<SendFrame>(frame)); break;
                case FrameTypes.Ping: Send(new PongFrame()); break;
                // Cumulative acks of the recipient: nothing is kept, so nothing to release.
                case FrameTypes.Ack: break;
                default: Send(new ErrorFrame { Code = ErrorCodes.BadFrame, Message = $"the raw relay does not take '{type}'" }); break;
            }
        }
        catch (FrameException e)
        {
            Send(new ErrorFrame { Code = e.Code, Message = e.Message });
        }
    }

    private void Welcome(HelloFrame hello)
    {
        _user = hello.Token;
        connections[_user] = this;
        Send(new WelcomeFrame { User = _user, Device = hello.Device, Node = "raw-relay", Head = 0 });
    }

    private void Relay(SendFrame send)
    {
        if (send.Ope != Ope.OneToOne)
        {
            Send(new ErrorFrame { Code = ErrorCodes.BadFrame, Message = "the raw relay relays one-to-one messages only", Req = send.Req });
            return;
        }
        // An offline recipient loses the message: a relay keeps nothing (the checker reports it).
        if (connections.TryGetValue(send.To, out var recipient)) recipient.Deliver(_user, send);
    }

    /// <summary>
    /// Makes the <c>msg</c> and queues it, numbered in this recipient's order: its <c>seq</c>, and the same number
    /// as <c>cseq</c> (one sender per conversation here, so it rises per conversation and is as wide).
    /// </summary>
    private void Deliver(string from, SendFrame send)
    {
        var id = Interlocked.Increment(ref _lastId).ToString(CultureInfo.InvariantCulture);
        var conv = Identifiers.OneToOneConversation(from, send.To);
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_order)
        {
            var seq = ++_seq;
            _outbound.Writer.TryWrite(FrameCodec.Write(new MsgFrame
            {
                Seq = seq, Id = id, Conv = conv, Cseq = seq, Ope = send.Ope, From = from, To = send.To, Type = send.Type, Body = send.Body, Ex = send.Ex, Ts = ts,
            }));
        }
    }

    private void Send<T>(T frame) where T : class => _outbound.Writer.TryWrite(FrameCodec.Write(frame));

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var frame in _outbound.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
    }
}
