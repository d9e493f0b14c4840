using AspireChat.Bench.Checking;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>
/// Backing services and workers away under load: senders hear <c>unavailable</c> (and retry with the same req) or get an
/// ack that holds; once everything is back, the Bench checker's verdict is clean.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class OutageTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task With_redis_stopped_senders_hear_unavailable_nothing_acknowledged_is_lost_and_service_resumes()
    {
        // The topology's worker-id leases last 2 s: a gateway that cannot renew its lease soon stops issuing ids, and says so.
        await using var topology = await ChatTopology.StartAsync(redisKeepsItsData: true);
        var checker = new DeliveryChecker();
        var load = new TopologyLoad(checker, _ => topology.Gateways[0], receivers: _ => topology.Gateways[1]);
        load.Start(2);
        await Wait.UntilAsync(() => load.Acked >= 50, "the first sends acknowledged", Settle);

        await topology.Redis.KillAsync();
        await Wait.UntilAsync(() => load.Senders.Sum(s => s.Refused) >= 5, "senders answered unavailable while Redis is down", Settle);
        await topology.Redis.StartAgainAsync();
        var ackedBack = load.Acked;
        await Wait.UntilAsync(() => load.Acked >= ackedBack + 50, "sends acknowledged again once Redis is back", Settle);
        load.StopSending();

        await Wait.UntilAsync(() => load.Settled, "every send acknowledged and delivered", Settle);
        await load.StopAsync();
        KillTests.AssertClean(checker.Finish());
    }

    [Fact]
    public async Task With_kafka_unreachable_senders_hear_unavailable_and_no_send_is_acknowledged_until_it_is_back()
    {
        // Appends give up after 2 s rather than 10: the sender hears unavailable sooner.
        await using var topology = await ChatTopology.StartAsync(settings: new Dictionary<string, string> { ["Kafka__MessageTimeout"] = "00:00:02" });
        var checker = new DeliveryChecker();
        var load = new TopologyLoad(checker, _ => topology.Gateways[0], receivers: _ => topology.Gateways[1]);
        load.Start(2);
        await Wait.UntilAsync(() => load.Acked >= 50, "the first sends acknowledged", Settle);
        topology.Kafka.SetBrokerDown();
        // Appends the broker had taken before it went down may still be acknowledged; after the first refusal nothing is.
        await Wait.UntilAsync(() => load.Senders.Sum(s => s.Refused) >= 1, "a sender answered unavailable", Settle);
        var ackedWhileDown = load.Acked;
        await Wait.UntilAsync(() => load.Senders.Sum(s => s.Refused) >= 4, "more refusals while the broker is down", Settle);
        Assert.Equal(ackedWhileDown, load.Acked);
        topology.Kafka.SetBrokerUp();
        await Wait.UntilAsync(() => load.Acked >= ackedWhileDown + 50, "sends acknowledged again once the broker is back", Settle);
        load.StopSending();
        await Wait.UntilAsync(() => load.Settled, "every send acknowledged and delivered", Settle);
        await load.StopAsync();
        KillTests.AssertClean(checker.Finish());
    }

    [Fact]
    public async Task With_every_delivery_worker_stopped_a_send_is_acknowledged_but_delivered_only_when_a_worker_is_back()
    {
        await using var topology = await ChatTopology.StartAsync();
        var (alice, bob) = ($"alice{Guid.NewGuid():n}"[..20], $"bob{Guid.NewGuid():n}"[..20]);
        await using var a = await ChatTopology.ConnectAsync(topology.Gateways[0], alice);
        await using var b = await ChatTopology.ConnectAsync(topology.Gateways[1], bob);
        foreach (var worker in topology.Workers) worker.Kill();

        // Durable in chat.accepted: stage 0 runs in the gateway.
        await a.SendChatAsync(1, bob, "while no worker runs");
        var ack = await a.ExpectAsync("ack");
        // Stages 1 and 2 run only in the workers: nothing reaches bob. This is the one absence here that no later
        // event can prove: nothing that must follow a delivery happens while no worker runs, and what ends the wait is
        // the test's own restart of one. So it stays a quiet while — closed by a pong, so that it covers everything the
        // gateway wrote to bob before the restart — and the restart then has to deliver the message exactly once.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await b.AssertNoneBeforePongAsync("msg");

        await topology.Workers[0].StartAgainAsync();
        var msg = await b.ExpectAsync("msg", TimeSpan.FromSeconds(60));
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal((1L, 1L), (msg.GetProperty("seq").GetInt64(), msg.GetProperty("cseq").GetInt64()));
        // Exactly once: acknowledged, it is not delivered again before a later message, next in bob's inbox.
        await b.SendAsync(new { t = "ack", seq = 1 });
        await b.SendAsync(new { t = "ping" });
        await b.ExpectAsync("pong");
        await a.SendChatAsync(2, bob, "with a worker back");
        var next = await b.ExpectAsync("msg", TimeSpan.FromSeconds(60));
        Assert.Equal((2L, 2L, "with a worker back"), (next.GetProperty("seq").GetInt64(), next.GetProperty("cseq").GetInt64(), next.GetProperty("body").GetProperty("text").GetString()));
    }
}
