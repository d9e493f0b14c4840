using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// The <see cref="SocketsHttpHandler.ConnectCallback"/> of every push HTTP client: resolves the host itself and connects only
/// to public addresses — never loopback, private (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), link-local (169.254/16,
/// fe80::/10, the cloud metadata service), unique-local (fc00::/7), unspecified, multicast or reserved, nor those written as
/// IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 addresses. The endpoint checks at registration look at names; this looks
/// at what the names resolve to when the connection is made, so a hostile DNS answer cannot reach the server's own network.
/// <c>Push:AllowPrivateAddresses</c> turns it off (tests, a webhook receiver on the same machine).
/// </summary>
public sealed class PushConnectGuard(IOptions<PushOptions> options, PushHostResolver? resolver = null)
{
    private readonly PushHostResolver _resolve = resolver ?? ((host, cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken));

    /// <summary>Makes <paramref name="handler"/> connect through this guard.</summary>
    public void Apply(SocketsHttpHandler handler) => handler.ConnectCallback = ConnectAsync;

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await _resolve(host, cancellationToken).ConfigureAwait(false);
        var allowed = options.Value.AllowPrivateAddresses ? addresses : [.. addresses.Where(IsPublic)];
        if (allowed.Length == 0) throw new PushAddressRefusedException(host);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="address"/> is a public unicast address a push service may have.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.IsIPv4MappedToIPv6) return IsPublicV4(address.MapToIPv4());
            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            // ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks), :: and ::1.
            if (b[..12].IndexOfAnyExcept((byte)0) < 0) return b[12] != 0 && IsPublicV4(new IPAddress(b[12..]));
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that the translator will reach.
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..12].IndexOfAnyExcept((byte)0) < 0) return IsPublicV4(new IPAddress(b[12..]));
            if (b[0] == 0x20 && b[1] == 0x02) return IsPublicV4(new IPAddress(b[2..6]));
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast
                || b[0] == 0xff);
        }
        return address.AddressFamily == AddressFamily.InterNetwork && IsPublicV4(address);
    }

    private static bool IsPublicV4(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return b[0] switch
        {
            0 or 10 or 127 => false,                       // "this network", private, loopback
            100 when (b[1] & 0xC0) == 64 => false,         // CGNAT 100.64/10
            169 when b[1] == 254 => false,                 // link-local, cloud metadata
            172 when (b[1] & 0xF0) == 16 => false,         // private 172.16/12
            192 when b[1] == 168 => false,                 // private 192.168/16
            192 when b[1] == 0 && b[2] == 0 => false,      // IETF protocol assignments 192.0.0/24
            198 when (b[1] & 0xFE) == 18 => false,         // benchmarking 198.18/15
            >= 224 => false,                               // multicast, reserved, broadcast
            _ => true,
        };
    }
}
