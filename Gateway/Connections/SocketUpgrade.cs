using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using AspireChat.Gateway.Apis;
using AspireChat.Gateway.Auth;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
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
/// <c>/ws</c> is served (or refused) as before (<see cref="ChatSocketEndpoint"/>).
/// </summary>
public sealed class SocketUpgrade(IServiceProvider services, OriginCheck origins, IOptions<GatewayOptions> options)
{
    /// <summary>The longest upgrade request this path reads; a longer one goes to Kestrel.</summary>
    public const int MaxRequestBytes = 8 * 1024;

    /// <summary>How long this path waits for a whole upgrade request before handing the connection to Kestrel.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

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
        var scheme = connection.Features.Get<ITlsHandshakeFeature>() is null ? "http" : "https";
        string? key;
        using (var timeout = new CancellationTokenSource(HandshakeTimeout))
        {
            try
            {
                key = await ReadUpgradeAsync(input, scheme, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Incomplete in time: Kestrel applies its own limits to what arrived.
                key = null;
            }
        }
        if (key is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _taken);
        var output = connection.Transport.Output;
        output.Write(SwitchingProtocols(key));
        if ((await output.FlushAsync(connection.ConnectionClosed).ConfigureAwait(false)).IsCompleted) return;
        var cork = new CorkedStream(new TransportStream(connection.Transport));
        using var socket = WebSocket.CreateFromStream(cork, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = ChatSocketEndpoint.KeepAliveInterval,
            KeepAliveTimeout = ChatSocketEndpoint.KeepAliveTimeout,
        });
        await ChatSocketEndpoint.RunAsync(socket, cork, services, connection.ConnectionClosed).ConfigureAwait(false);
    }

    // The upgrade's Sec-WebSocket-Key, consumed from the input; null when this path does not take the connection (then
    // nothing is consumed: the next ReadAsync sees every byte again).
    private async Task<string?> ReadUpgradeAsync(PipeReader input, string scheme, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled || !StartsLikeUpgrade(buffer))
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }
            var end = IndexOf(buffer, HeaderEnd, MaxRequestBytes);
            if (end >= 0)
            {
                var length = end + HeaderEnd.Length;
                var key = Parse(buffer.Slice(0, length), scheme);
                input.AdvanceTo(key is null ? buffer.Start : buffer.GetPosition(length));
                return key;
            }
            if (result.IsCompleted || buffer.Length >= MaxRequestBytes)
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }
            // Part of an upgrade so far: wait for the rest without consuming anything.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool StartsLikeUpgrade(ReadOnlySequence<byte> buffer)
    {
        var length = (int)Math.Min(buffer.Length, RequestLine.Length);
        Span<byte> start = stackalloc byte[RequestLine.Length];
        buffer.Slice(0, length).CopyTo(start);
        return start[..length].SequenceEqual(RequestLine.AsSpan(0, length));
    }

    private static long IndexOf(ReadOnlySequence<byte> buffer, byte[] value, int within)
    {
        var reader = new SequenceReader<byte>(buffer.Length > within ? buffer.Slice(0, within) : buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> before, value, advancePastDelimiter: false) ? before.Length : -1;
    }

    /// <summary>
    /// The Sec-WebSocket-Key of <paramref name="request"/> (the request line and headers, up to and with the blank line)
    /// when it is a plain, valid and allowed <c>GET /ws</c> upgrade; else null.
    /// </summary>
    private string? Parse(ReadOnlySequence<byte> request, string scheme)
    {
        var bytes = request.ToArray();
        if (!bytes.AsSpan().StartsWith(RequestLine)) return null;
        string? host = null, upgrade = null, connectionHeader = null, key = null, version = null, origin = null;
        var rest = bytes.AsSpan(RequestLine.Length, bytes.Length - RequestLine.Length - 2); // without the last CRLF
        while (rest.Length > 0)
        {
            var lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd <= 0) return null;
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
            foreach (var b in name)
            {
                if (b is (byte)' ' or (byte)'\t') return null;
            }
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
        if (host is null or { Length: 0 } || version != "13" || !HasToken(upgrade, "websocket") || !HasToken(connectionHeader, "upgrade")) return null;
        if (key is null || !IsValidKey(key)) return null;
        // An Origin is checked as ChatSocketEndpoint checks it; one this path cannot vouch for goes to Kestrel, which
        // answers it (403, or the upgrade behind a proxy that says the scheme).
        if (origin is not null && !origins.IsAllowed(origin, scheme, host)) return null;
        return key;
    }

    // A header this path reads, given once.
    private static bool Set(ref string? slot, string value)
    {
        if (slot is not null) return false;
        slot = value;
        return true;
    }

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
