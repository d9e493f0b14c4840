using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using AspireChat.Gateway.Apis;
using AspireChat.Gateway.Auth;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// Takes a plain <c>GET /ws</c> WebSocket upgrade at the connection, before Kestrel's HTTP/1.1 layer (decision 0020): the
/// handshake is answered here and the WebSocket runs on the connection's own pipes, so an idle socket holds none of the
/// upgraded request's HTTP objects (connection state, header collections, request and response streams, the hosting
/// context and its activity and log scopes) for its whole life, and its frames reach the transport through one stream.
/// Only an upgrade that is plainly valid and allowed takes this path: anything else — another request, another target, a
/// request that is incomplete within <see cref="HandshakeTimeout"/> or longer than <see cref="MaxRequestBytes"/>, a body,
/// a subprotocol, an <c>Origin</c> this path cannot vouch for, TLS bytes — goes on to Kestrel untouched, where
/// <c>/ws</c> is served (or refused) as before (<see cref="ChatSocketEndpoint"/>). So are all upgrades when the gateway
/// runs behind a proxy that forwards headers, restricts hosts (<c>AllowedHosts</c>) or caps upgraded connections
/// (<c>Kestrel:Limits:MaxConcurrentUpgradedConnections</c>): Kestrel's pipeline applies those, this path does not.
/// </summary>
public sealed class SocketUpgrade(IServiceProvider services, OriginCheck origins, IOptions<GatewayOptions> options,
    IOptions<HostFilteringOptions> hosts, IOptions<KestrelServerOptions> kestrel, IConfiguration configuration)
{
    /// <summary>The longest upgrade request this path reads; a longer one goes to Kestrel.</summary>
    public const int MaxRequestBytes = 8 * 1024;

    /// <summary>The most header lines this path reads (Kestrel's default <c>MaxRequestHeaderCount</c>); more go to Kestrel.</summary>
    public const int MaxHeaders = 100;

    /// <summary>
    /// How long this path waits for a whole upgrade request before handing the connection to Kestrel (whose own
    /// request-headers timeout then starts): a client sends its upgrade in one write, so this is short.
    /// </summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(3);

    // The token characters of RFC 9110 §5.6.2: what a header name may hold.
    private static readonly SearchValues<byte> TokenBytes = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    private static readonly byte[] RequestLine = "GET /ws HTTP/1.1\r\n"u8.ToArray();
    private long _taken;

    /// <summary>Connections this path has taken since the start (diagnostics, tests).</summary>
    public long Taken => Interlocked.Read(ref _taken);
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>The connection middleware: an upgrade this path takes runs here to its end; anything else goes to <paramref name="next"/>.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (!options.Value.DirectUpgrade)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        var input = connection.Transport.Input;
        string? key = null;
        if (KestrelAppliesMore())
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        using (var timeout = new CancellationTokenSource(HandshakeTimeout))
        {
            try
            {
                key = await ReadUpgradeAsync(input, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // Incomplete in time, or the connection failed (a reset): Kestrel reads what is left and applies its own
                // limits and logging to it, as it does to any connection.
                key = null;
            }
        }
        if (key is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _taken);
        // Counted as an upgraded connection from here, not as one of Kestrel:Limits:MaxConcurrentConnections (as Kestrel
        // does for the upgrades it serves): open WebSockets do not starve the HTTP API.
        connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IDecrementConcurrentConnectionCountFeature>()?.ReleaseConnection();
        var output = connection.Transport.Output;
        WebSocket? socket = null;
        try
        {
            output.Write(SwitchingProtocols(key));
            var flushed = await output.FlushAsync(connection.ConnectionClosed).ConfigureAwait(false);
            if (flushed.IsCompleted || flushed.IsCanceled) return;
            var cork = new CorkedStream(new TransportStream(connection.Transport));
            socket = WebSocket.CreateFromStream(cork, new WebSocketCreationOptions
            {
                IsServer = true,
                KeepAliveInterval = ChatSocketEndpoint.KeepAliveInterval,
                KeepAliveTimeout = ChatSocketEndpoint.KeepAliveTimeout,
            });
            await ChatSocketEndpoint.RunAsync(socket, cork, services, connection.ConnectionClosed).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The peer went away during the handshake or the session: nothing to answer.
        }
        finally
        {
            // A WebSocket that ended aborted (a slow reader, a keep-alive or close timeout) leaves no output for Kestrel
            // to drain to a peer that does not read: the connection is aborted, not completed.
            if (socket is null || socket.State == WebSocketState.Aborted) connection.Abort(new ConnectionAbortedException("the WebSocket ended aborted"));
            socket?.Dispose();
        }
    }

    // Host filtering (AllowedHosts other than *), forwarded headers, a cap on upgraded connections: applied by
    // Kestrel's pipeline, not by this path, so with any of them every upgrade goes there.
    private bool KestrelAppliesMore() =>
        hosts.Value.AllowedHosts is { Count: > 0 } allowed && !allowed.Contains("*")
        || kestrel.Value.Limits.MaxConcurrentUpgradedConnections is not null
        // ASPNETCORE_FORWARDEDHEADERS_ENABLED, as ASP.NET Core's own forwarded-headers filter reads it.
        || string.Equals(configuration["FORWARDEDHEADERS_ENABLED"], "true", StringComparison.OrdinalIgnoreCase);

    // The upgrade's Sec-WebSocket-Key, consumed from the input; null when this path does not take the connection (then
    // nothing is consumed: the next ReadAsync sees every byte again).
    private async Task<string?> ReadUpgradeAsync(PipeReader input, CancellationToken cancellationToken)
    {
        // Bytes already checked: each read looks at what is new (and the three before it, for a CRLFCRLF across reads).
        long scanned = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled || !StartsLikeUpgrade(buffer))
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }
            var within = buffer.Slice(0, Math.Min(buffer.Length, MaxRequestBytes));
            var (end, plain) = ScanHead(within, Math.Max(0, scanned - 3));
            scanned = within.Length;
            if (end >= 0 && plain)
            {
                var length = end + HeaderEnd.Length;
                var key = Parse(buffer.Slice(0, length));
                input.AdvanceTo(key is null ? buffer.Start : buffer.GetPosition(length));
                return key;
            }
            // A bare LF or a byte no header holds (Kestrel reads some of those differently), the end of the input, or more
            // than this path reads: Kestrel's, at once.
            if (!plain || result.IsCompleted || buffer.Length >= MaxRequestBytes)
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }
            // Part of an upgrade so far: wait for the rest without consuming anything.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    // From byte `from` of the head: where CRLFCRLF starts (or -1), and whether every byte checked is one a plain request
    // head holds — visible ASCII, space, tab, CR, and LF only after CR. Starts three bytes early, for an end across reads.
    private static (long End, bool Plain) ScanHead(ReadOnlySequence<byte> head, long from)
    {
        var start = Math.Max(0, from - 3);
        var reader = new SequenceReader<byte>(head);
        reader.Advance(start);
        uint last4 = 0;
        byte previous = 0;
        for (var position = start; reader.TryRead(out var b); position++)
        {
            if (position >= from && (b == (byte)'\n' ? previous != (byte)'\r' : b is not ((>= 0x20 and <= 0x7E) or (byte)'\t' or (byte)'\r')))
                return (-1, false);
            last4 = (last4 << 8) | b;
            if (last4 == 0x0D0A0D0A) return (position - 3, true);
            previous = b;
        }
        return (-1, true);
    }

    private static bool StartsLikeUpgrade(ReadOnlySequence<byte> buffer)
    {
        var length = (int)Math.Min(buffer.Length, RequestLine.Length);
        Span<byte> start = stackalloc byte[RequestLine.Length];
        buffer.Slice(0, length).CopyTo(start);
        return start[..length].SequenceEqual(RequestLine.AsSpan(0, length));
    }

    /// <summary>
    /// The Sec-WebSocket-Key of <paramref name="request"/> (the request line and headers, up to and with the blank line)
    /// when it is a plain, valid and allowed <c>GET /ws</c> upgrade; else null.
    /// </summary>
    private string? Parse(ReadOnlySequence<byte> request)
    {
        var bytes = request.ToArray();
        if (!bytes.AsSpan().StartsWith(RequestLine)) return null;
        string? host = null, upgrade = null, connectionHeader = null, key = null, version = null, origin = null;
        var rest = bytes.AsSpan(RequestLine.Length, bytes.Length - RequestLine.Length - 2); // without the last CRLF
        for (var lines = 1; rest.Length > 0; lines++)
        {
            var lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd <= 0 || lines > MaxHeaders) return null;
            var line = rest[..lineEnd];
            rest = rest[(lineEnd + 2)..];
            var colon = line.IndexOf((byte)':');
            // No obsolete line folding, no whitespace in names, only visible ASCII, spaces and tabs.
            if (colon <= 0 || line[0] is (byte)' ' or (byte)'\t') return null;
            foreach (var b in line)
            {
                if (b is not ((>= 0x20 and <= 0x7E) or (byte)'\t')) return null;
            }
            var name = line[..colon];
            if (name.ContainsAnyExcept(TokenBytes)) return null;
            var value = Encoding.ASCII.GetString(line[(colon + 1)..].Trim(" \t"u8));
            var acceptable = Encoding.ASCII.GetString(name).ToLowerInvariant() switch
            {
                "host" => Set(ref host, value),
                "upgrade" => Set(ref upgrade, value),
                "connection" => Set(ref connectionHeader, value),
                "sec-websocket-key" => Set(ref key, value),
                "sec-websocket-version" => Set(ref version, value),
                "origin" => Set(ref origin, value),
                // A body, or a subprotocol to choose: Kestrel's.
                "content-length" or "transfer-encoding" or "sec-websocket-protocol" => false,
                _ => true,
            };
            if (!acceptable) return null;
        }
        if (host is null || !IsPlainHost(host) || version != "13" || !HasToken(upgrade, "websocket") || !HasToken(connectionHeader, "upgrade")) return null;
        if (key is null || !IsValidKey(key)) return null;
        // An Origin is checked as ChatSocketEndpoint checks it; one this path cannot vouch for goes to Kestrel, which
        // answers it (403). The scheme is http: this middleware runs before any TLS of the endpoint (it sees a TLS
        // connection's handshake bytes, which are no upgrade, and hands them on), and behind a proxy that forwards the
        // scheme every upgrade goes to Kestrel (KestrelAppliesMore).
        if (origin is not null && !origins.IsAllowed(origin, "http", host)) return null;
        return key;
    }

    // A header this path reads, given once.
    private static bool Set(ref string? slot, string value)
    {
        if (slot is not null) return false;
        slot = value;
        return true;
    }

    // A host name or IPv4 address, or an [IPv6] literal, with an optional port: what Kestrel accepts as Host without
    // a 400 (anything else — userinfo, spaces, a path — is Kestrel's to refuse).
    private static bool IsPlainHost(string host)
    {
        var (name, port) = host.StartsWith('[') && host.IndexOf(']') is > 1 and var close
            ? (host[1..close], host[(close + 1)..])
            : host.LastIndexOf(':') is >= 0 and var colon ? (host[..colon], host[colon..]) : (host, "");
        if (name.Length == 0) return false;
        if (host.StartsWith('['))
        {
            if (!System.Net.IPAddress.TryParse(name, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return false;
        }
        else if (name.AsSpan().ContainsAnyExcept(HostBytes))
        {
            return false;
        }
        return port.Length == 0 || port.Length is > 1 and <= 6 && port[0] == ':' && port.AsSpan(1).ContainsAnyExceptInRange('0', '9') is false;
    }

    private static readonly SearchValues<char> HostBytes = SearchValues.Create("-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static bool HasToken(string? header, string token)
    {
        if (header is null) return false;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            if (string.Equals(part, token, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }

    private static byte[] SwitchingProtocols(string key)
    {
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        return Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
    }
}
