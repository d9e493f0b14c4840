using System.Net;
using System.Net.Sockets;

namespace AspireChat.Bench.Transport;

/// <summary>
/// Spreads client connections over several loopback source addresses (127.0.0.2, 127.0.0.3 …): one source address
/// can hold only about 28,000 connections to one server port (the ephemeral port range), so scale past that needs
/// more. <see cref="System.Net.WebSockets.ClientWebSocket"/> cannot bind its local address itself; it connects
/// through an <see cref="HttpMessageInvoker"/> whose <see cref="SocketsHttpHandler.ConnectCallback"/> binds the socket.
/// </summary>
public sealed class SourceAddresses : IDisposable
{
    private readonly HttpMessageInvoker[] _invokers;
    private int _next = -1;

    /// <param name="count">How many source addresses; 0 lets the kernel choose (no binding).</param>
    public SourceAddresses(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 250);
        Addresses = [.. Enumerable.Range(2, count).Select(i => new IPAddress([127, 0, 0, (byte)i]))];
        _invokers = [.. Addresses.Select(Bound)];
    }

    public IReadOnlyList<IPAddress> Addresses { get; }

    /// <summary>The invoker of the next source address, round robin; null when no binding was asked for.</summary>
    public HttpMessageInvoker? Next() =>
        _invokers.Length == 0 ? null : _invokers[(int)((uint)Interlocked.Increment(ref _next) % (uint)_invokers.Length)];

    private static HttpMessageInvoker Bound(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // Defer the choice of the local port to connect(): with a bound address, bind() would otherwise pick a port
                // unique for the address alone, not for the (address, destination) pair.
                if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(IpProtocolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseProxy = false,
    });

    // IPPROTO_IP / IP_BIND_ADDRESS_NO_PORT (Linux 4.2+); .NET has no SocketOptionName for it, so it is set raw.
    private const int IpProtocolIp = 0;
    private const int IpBindAddressNoPort = 24;

    public void Dispose()
    {
        foreach (var invoker in _invokers) invoker.Dispose();
    }
}
