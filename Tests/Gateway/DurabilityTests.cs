using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>The acknowledgement means durable: kill -9 loses nothing that was acknowledged (docs/protocol.md §8, docs/configuration.md).</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_message_survives_kill_9_and_reaches_the_recipient_exactly_once_in_order()
    {
        var data = TempDirectory.Create();
        var acked = new List<(long Req, string Id)>();
        const int sent = 150;

        await using (var gateway = await GatewayProcess.StartAsync(data))
        {
            await using var alice = await gateway.ConnectAsync("alice");
            for (var req = 1; req <= sent; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
            // Kill as soon as 100 are acknowledged: the rest are mid-flight, and stages 1–2 are mid-stream.
            while (acked.Count < 100)
            {
                var ack = await alice.ExpectAsync("ack");
                acked.Add((ack.GetProperty("req").GetInt64(), ack.GetProperty("id").GetString()!));
            }
            gateway.Kill();
        }

        await using var restarted = await GatewayProcess.StartAsync(data);
        await using var bob = await restarted.ConnectAsync("bob", cursor: 0);
        var head = bob.Welcome.GetProperty("head").GetInt64();
        Assert.True(head >= 100, $"bob's inbox head is {head} right after restart");

        // Whatever was in flight is finished by the restarted pipeline; wait until it is quiet.
        var received = new List<JsonElement>();
        while (true)
        {
            try
            {
                received.Add(await bob.ExpectAsync("msg", TimeSpan.FromSeconds(2)));
            }
            catch (TimeoutException)
            {
                break;
            }
        }

        var ids = received.Select(m => m.GetProperty("id").GetString()!).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var (req, id) in acked) Assert.Contains(id, ids);
        var reqs = received.Select(m => long.Parse(m.GetProperty("body").GetProperty("text").GetString()![1..])).ToList();
        Assert.Equal(reqs.Order(), reqs);
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (long)i), received.Select(m => m.GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (long)i), received.Select(m => m.GetProperty("cseq").GetInt64()));

        // The sender retransmits what it never saw acknowledged: each gets its original id or a new one, never twice.
        await using var alice2 = await restarted.ConnectAsync("alice");
        for (var req = 1; req <= sent; req++) await alice2.SendChatAsync(req, "bob", $"m{req}");
        var acks = await alice2.ExpectManyAsync("ack", sent);
        foreach (var (req, id) in acked) Assert.Equal(id, acks.Single(a => a.GetProperty("req").GetInt64() == req).GetProperty("id").GetString());
        // A retransmitted msg carries the seq it had (the client drops it); a second copy of a message would carry a new seq.
        await bob.SendAsync(new { t = "ack", seq = received[^1].GetProperty("seq").GetInt64() });
        while (true)
        {
            try
            {
                var msg = await bob.ExpectAsync("msg", TimeSpan.FromSeconds(2));
                if (msg.GetProperty("seq").GetInt64() > received[^1].GetProperty("seq").GetInt64()) received.Add(msg);
                await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
            }
            catch (TimeoutException)
            {
                break;
            }
        }
        var all = received.Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(sent, all.Count);
        Assert.Equal(sent, all.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, sent).Select(i => (long)i), received.Select(m => m.GetProperty("seq").GetInt64()));
    }
}
