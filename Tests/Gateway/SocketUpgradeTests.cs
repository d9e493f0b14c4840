using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using AspireChat.Gateway.Connections;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// <c>GET /ws</c> upgrades taken at the connection (decision 0020): a plain, allowed upgrade is answered there; anything
/// else reaches Kestrel's HTTP pipeline byte for byte, which serves or refuses it as before.
/// </summary>
public sealed class SocketUpgradeTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    // RFC 6455's example: the accept value of the key above.
    private const string Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    [Fact]
    public async Task A_plain_upgrade_is_answered_at_the_connection_and_carries_the_protocol()
    {
        await using var server = await GatewayServer.StartAsync();
        var taken = server.Services.GetRequiredService<SocketUpgrade>();

        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, "bob", "direct");
        Assert.Equal("direct", (await bob.ExpectPushAsync()).GetProperty("body").GetProperty("text").GetString());
        Assert.Equal(2, taken.Taken);
    }

    [Fact]
    public async Task The_handshake_answers_the_key_with_its_accept_value_and_nothing_else()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade());
        var head = await ReadHeadAsync(tcp);
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", head);
        Assert.Contains($"Sec-WebSocket-Accept: {Accept}\r\n", head);
        Assert.Equal(1, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task An_upgrade_split_over_several_writes_is_still_taken()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        var request = Upgrade();
        await WriteAsync(tcp, request[..10]);
        await Task.Yield();
        await WriteAsync(tcp, request[10..40]);
        await WriteAsync(tcp, request[40..]);
        Assert.StartsWith("HTTP/1.1 101 ", await ReadHeadAsync(tcp));
        Assert.Equal(1, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Theory]
    [InlineData("Sec-WebSocket-Protocol: chat\r\n")]
    [InlineData("Content-Length: 0\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")] // given twice
    [InlineData("X-Folded: a\r\n b\r\n")]
    public async Task An_upgrade_this_path_does_not_vouch_for_goes_to_kestrel_intact(string extra)
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade(extra));
        var head = await ReadHeadAsync(tcp);
        // Kestrel read every byte of it: it answers it itself (its answers carry a Date header; this path's do not).
        Assert.Contains("\r\nDate: ", head);
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task An_upgrade_from_another_origin_is_refused_by_kestrels_pipeline_with_403()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade("Origin: https://evil.example\r\n"));
        Assert.StartsWith("HTTP/1.1 403 ", await ReadHeadAsync(tcp));
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task An_upgrade_from_the_gateways_own_origin_is_taken()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade($"Origin: http://{server.Address.Authority}\r\n", host: server.Address.Authority));
        Assert.StartsWith("HTTP/1.1 101 ", await ReadHeadAsync(tcp));
        Assert.Equal(1, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task Other_requests_on_the_connection_reach_the_http_api()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Encoding.ASCII.GetBytes($"GET /alive HTTP/1.1\r\nHost: {server.Address.Authority}\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadHeadAsync(tcp));
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task With_the_direct_path_off_every_upgrade_goes_through_kestrel()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Gateway:DirectUpgrade"] = "false" });
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendAsync(new { t = "ping" });
        await alice.ExpectAsync("pong");
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Theory]
    [InlineData("Host: a b", true)]               // not a host: Kestrel's 400
    [InlineData("Host: gw@evil.example", true)]   // userinfo: Kestrel's 400
    [InlineData("X(y): z", false)]                // a name that is no token: Kestrel decides
    public async Task A_head_this_path_does_not_read_as_plain_goes_to_kestrel(string header, bool refused)
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        var request = Encoding.ASCII.GetString(Upgrade(header + "\r\n"));
        if (header.StartsWith("Host:", StringComparison.Ordinal)) request = request.Replace("Host: localhost\r\n", "");
        await WriteAsync(tcp, Encoding.ASCII.GetBytes(request));
        var head = await ReadHeadAsync(tcp);
        Assert.Contains("\r\nDate: ", head);
        if (refused) Assert.StartsWith("HTTP/1.1 400 ", head);
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task More_header_lines_than_kestrel_allows_are_kestrels_431()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade(string.Concat(Enumerable.Range(0, SocketUpgrade.MaxHeaders).Select(i => $"X-{i}: a\r\n"))));
        Assert.StartsWith("HTTP/1.1 431 ", await ReadHeadAsync(tcp));
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Theory]
    [InlineData("\n")]   // bare LF line ends throughout: Kestrel reads them as line ends
    [InlineData("\r\n\n")]
    public async Task A_head_with_bare_line_feeds_goes_to_kestrel_at_once(string ending)
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        var request = ending == "\n"
            ? Encoding.ASCII.GetString(Upgrade()).Replace("\r\n", "\n")
            : Encoding.ASCII.GetString(Upgrade())[..^2] + "\n";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await WriteAsync(tcp, Encoding.ASCII.GetBytes(request));
        var head = await ReadHeadAsync(tcp);
        // Kestrel answers it (with its Date header) without this path waiting out its handshake timeout first.
        Assert.Contains("Date: ", head);
        Assert.True(clock.Elapsed < SocketUpgrade.HandshakeTimeout, $"answered after {clock.Elapsed}");
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task An_upgrade_that_stalls_past_the_timeout_reaches_kestrel_with_every_byte()
    {
        await using var server = await GatewayServer.StartAsync();
        using var tcp = await ConnectAsync(server);
        var request = Upgrade();
        await WriteAsync(tcp, request[..30]);
        await Task.Delay(SocketUpgrade.HandshakeTimeout + TimeSpan.FromSeconds(1));
        await WriteAsync(tcp, request[30..]);
        // Kestrel upgrades it: the first 30 bytes were handed over, not lost.
        var head = await ReadHeadAsync(tcp);
        Assert.StartsWith("HTTP/1.1 101 ", head);
        Assert.Contains("Date: ", head);
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Theory]
    [InlineData("AllowedHosts")]
    [InlineData("MaxConcurrentUpgradedConnections")]
    [InlineData("FORWARDEDHEADERS_ENABLED")]
    public async Task With_host_filtering_forwarded_headers_or_an_upgrade_cap_every_upgrade_goes_through_kestrel(string setting)
    {
        await using var server = await GatewayServer.StartAsync(
            setting == "MaxConcurrentUpgradedConnections" ? null : new Dictionary<string, string?> { [setting] = setting == "AllowedHosts" ? "gateway.test" : "true" },
            configure: builder =>
            {
                if (setting == "MaxConcurrentUpgradedConnections") builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.Limits.MaxConcurrentUpgradedConnections = 100);
            });
        using var tcp = await ConnectAsync(server);
        await WriteAsync(tcp, Upgrade(host: setting == "AllowedHosts" ? "gateway.test" : "localhost"));
        var head = await ReadHeadAsync(tcp);
        Assert.StartsWith("HTTP/1.1 101 ", head);
        Assert.Contains("\r\nDate: ", head);
        Assert.Equal(0, server.Services.GetRequiredService<SocketUpgrade>().Taken);
    }

    [Fact]
    public async Task A_connection_reset_during_the_handshake_logs_no_error_and_leaves_the_path_working()
    {
        var logs = new CapturedLogs();
        await using var server = await GatewayServer.StartAsync(configure: builder => builder.Logging.AddProvider(logs));
        for (var i = 0; i < 3; i++)
        {
            using var tcp = await ConnectAsync(server);
            await WriteAsync(tcp, Upgrade()[..20]);
            await Task.Delay(100);
            tcp.Client.LingerState = new LingerOption(true, 0); // close with a reset
            tcp.Client.Close();
        }
        using var good = await ConnectAsync(server);
        await WriteAsync(good, Upgrade());
        Assert.StartsWith("HTTP/1.1 101 ", await ReadHeadAsync(good));
        await Task.Delay(500);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error && e.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal));
    }

    private static byte[] Upgrade(string extra = "", string host = "localhost") => Encoding.ASCII.GetBytes(
        $"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        + $"Sec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n");

    private static async Task<TcpClient> ConnectAsync(GatewayServer server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Address.Host, server.Address.Port);
        return tcp;
    }

    private static Task WriteAsync(TcpClient tcp, byte[] bytes) => tcp.GetStream().WriteAsync(bytes).AsTask();

    // The response's status line and headers.
    private static async Task<string> ReadHeadAsync(TcpClient tcp)
    {
        var received = new StringBuilder();
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(Wait.Deadline);
        while (!received.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await tcp.GetStream().ReadAsync(buffer, timeout.Token) == 0) break;
            received.Append((char)buffer[0]);
        }
        return received.ToString();
    }

    [Fact]
    public void The_accept_value_is_rfc_6455s()
    {
        Assert.Equal(Accept, Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))));
    }
}
