using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// A client that stops reading cannot make the server hold its frames without bound: past <c>Gateway:MaxQueuedBytes</c>
/// its connection is closed with 4408, and the device gets everything from its cursor when it comes back.
/// </summary>
public sealed class SlowReaderTests
{
    private const int Messages = 2000;

    [Fact]
    public async Task A_reader_that_stops_during_a_large_group_burst_is_closed_with_4408_and_loses_nothing_on_return()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:MaxQueuedBytes"] = "4194304",
            ["Groups:WriteDiffusionLimit"] = "1", // two members: read diffusion, whose live pushes no delivery window limits
            ["Limits:SendBurst"] = "100000",
            ["Limits:SendsPerSecond"] = "100000",
        });
        var gid = await server.CreateGroupAsync("alice", "bob");

        // Bob says hello and then never reads again.
        using var bob = new ClientWebSocket();
        await bob.ConnectAsync(server.WebSocketUri, CancellationToken.None);
        var hello = JsonSerializer.Serialize(new { t = "hello", token = await server.TokenAsync("bob"), device = "d1" });
        await bob.SendAsync(Encoding.UTF8.GetBytes(hello), WebSocketMessageType.Text, true, CancellationToken.None);
        await Task.Delay(200); // let the hello be handled while the socket is still read by nobody

        // 2,000 messages of 12 KiB (about 23 MiB) to a group bob is in: far more than loopback's socket buffers and the 4 MiB limit.
        await using var alice = await server.ConnectAsync("alice");
        // Alice, a member too, reads everything: she sends in steps of 10 and takes her acks and her own live copies
        // before the next step, so her queue never nears the limit while bob's grows.
        var text = new string('x', 12 * 1024);
        for (var req = 1; req <= Messages; req += 10)
        {
            for (var i = 0; i < 10; i++) await alice.SendChatAsync(req + i, gid, text, ope: 1);
            var (acked, copies) = (0, 0);
            while (acked < 10 || copies < 10)
            {
                var frame = await alice.ReceiveAsync(TimeSpan.FromSeconds(30));
                switch (frame.GetProperty("t").GetString())
                {
                    case "ack": acked++; break;
                    case "msg" when frame.GetProperty("type").GetInt32() >= 0: copies++; break;
                }
            }
        }

        // Reading again, bob finds what was in flight and then the close.
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var live = 0;
        while (true)
        {
            var result = await bob.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) break;
            if (result.EndOfMessage) live++;
        }
        Assert.Equal(CloseCodes.TooSlow, (int?)bob.CloseStatus);
        Assert.True(live < Messages + 2, $"{live} frames reached a reader that was too slow");

        // Back with a new connection: one page at hello, the rest by gsync — every message, once, in cseq order.
        await using var back = await server.ConnectAsync("bob", device: "d1");
        var cseqs = new List<long>();
        long after = 0;
        while (true)
        {
            await back.SendAsync(new { t = "gsync", group = gid, after, limit = 100 });
            var page = await back.ExpectAsync("gsync");
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                if (item.GetProperty("type").GetInt32() >= 0) cseqs.Add(item.GetProperty("cseq").GetInt64());
            }
            after = page.GetProperty("next").GetInt64();
            if (!page.GetProperty("more").GetBoolean()) break;
        }
        Assert.Equal(Messages, cseqs.Count);
        Assert.Equal(cseqs.Order(), cseqs);
        Assert.Equal(cseqs.Count, cseqs.Distinct().Count());
    }
}
