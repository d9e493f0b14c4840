using System.Net;
using System.Net.Sockets;

namespace AspireChat.Tests.Support;

/// <summary>
/// A loopback TCP relay in front of a server port, for losing what the server says on purpose: after
/// <see cref="SwallowReplies"/>, the bytes the server writes on the connections open then are read and dropped (the
/// server sees a healthy peer; its client hears nothing). A connection ends on both sides when either side ends.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private sealed class Relay(TcpClient client)
    {
        public TcpClient Client { get; } = client;
        public TcpClient? Upstream { get; set; }
        public volatile bool Swallow;
    }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Relay> _relays = [];
    private readonly Task _accepting;

    private TcpProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public static TcpProxy Start(int upstreamPort) => new(upstreamPort);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted
    {
        get { lock (_gate) return _relays.Count; }
    }

    /// <summary>From now on, drops what the server writes on every connection open now; later connections relay normally.</summary>
    public void SwallowReplies()
    {
        lock (_gate)
        {
            foreach (var relay in _relays) relay.Swallow = true;
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var relay = new Relay(client);
                lock (_gate) _relays.Add(relay);
                _ = RelayAsync(relay);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task RelayAsync(Relay relay)
    {
        using var client = relay.Client;
        using var upstream = new TcpClient();
        relay.Upstream = upstream;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
        }
        catch (Exception)
        {
            return; // nobody listens upstream (the server is down): the client sees its connection refused-ish and retries
        }
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var up = PumpAsync(client.GetStream(), upstream.GetStream(), () => false, ended.Token);
        var down = PumpAsync(upstream.GetStream(), client.GetStream(), () => relay.Swallow, ended.Token);
        await Task.WhenAny(up, down);
        ended.Cancel();
        client.Client?.Close(0);
        upstream.Client?.Close(0);
        await Task.WhenAll(up, down);
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, Func<bool> swallow, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, cancellationToken);
                if (read == 0) return;
                if (!swallow()) await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        lock (_gate)
        {
            foreach (var relay in _relays)
            {
                // A relay that ended has disposed its clients already.
                relay.Client.Client?.Close(0);
                relay.Upstream?.Client?.Close(0);
            }
        }
    }
}
