using AspireChat.Bench.Checking;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>
/// SIGKILL of a service mid-stream, with clients doing what the protocol asks. The Bench checker's verdict must be
/// clean: nothing acknowledged lost, nothing shown twice, nothing reordered, no seq gap.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class KillTests
{
    private const int Pairs = 4;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Killing_a_delivery_worker_mid_stream_the_other_takes_over_and_nothing_is_lost_duplicated_or_reordered()
    {
        await using var topology = await ChatTopology.StartAsync();
        var checker = new DeliveryChecker();
        // Senders on one node, receivers on the other: every message crosses the stages and the routing.
        var load = new TopologyLoad(checker, _ => topology.Gateways[0], receivers: _ => topology.Gateways[1]);
        load.Start(Pairs);

        await Wait.UntilAsync(() => load.Acked >= 100, "the first hundred sends acknowledged", Settle);
        topology.Workers[0].Kill();
        var ackedAtKill = load.Acked;
        await Wait.UntilAsync(() => load.Acked >= ackedAtKill + 100, "a hundred more sends acknowledged after the kill", Settle);
        load.StopSending();

        await Wait.UntilAsync(() => load.Settled, "every send acknowledged and delivered by the surviving worker", Settle);
        await load.StopAsync();
        AssertClean(checker.Finish());
    }

    [Fact]
    public async Task Killing_a_gateway_under_load_its_clients_reconnect_to_the_other_and_receive_everything()
    {
        await using var topology = await ChatTopology.StartAsync();
        var checker = new DeliveryChecker();
        // Pair i: sender and receiver on different nodes; after the kill everyone lands on the survivor, as a
        // reconnect through the load-balanced endpoint would.
        var alive = topology.Gateways.ToList();
        var load = new TopologyLoad(checker, i => alive[i % alive.Count], receivers: i => alive[(i + 1) % alive.Count]);
        load.Start(Pairs);

        await Wait.UntilAsync(() => load.Acked >= 100, "the first hundred sends acknowledged", Settle);
        alive.RemoveAt(0);
        topology.Gateways[0].Kill();
        var ackedAtKill = load.Acked;
        await Wait.UntilAsync(() => load.Acked >= ackedAtKill + 100, "a hundred more sends acknowledged after the kill", Settle);
        load.StopSending();

        await Wait.UntilAsync(() => load.Settled, "every send acknowledged and delivered through the surviving gateway", Settle);
        await load.StopAsync();
        AssertClean(checker.Finish());
    }

    internal static void AssertClean(CheckReport report)
    {
        Assert.True(report.Violations.Count == 0, string.Join("\n", report.Violations.Take(20)));
        Assert.Equal(report.Counts.Acknowledged, report.Counts.DeliveredAsExpected);
    }
}
