using AspireChat.Bench;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Workloads;

namespace AspireChat.Tests.Bench;

/// <summary>
/// The Bench tool itself, briefly, against the embedded server in this process: a smoke test of correctness
/// (the checker finds nothing), never of speed — no timing is asserted.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task One_to_one_run_against_the_embedded_server_finds_no_violation()
    {
        await using var context = new BenchContext(await EmbeddedTarget.StartAsync(), ProgressView.Silent, bodyBytes: 20);
        var options = new OneToOneOptions(Pairs: 2, Rate: null, Auto: false, Window: 16, Poisson: false,
            new PhaseTimings(TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), WithPeer: true);

        var result = await OneToOneWorkload.RunAsync(context, options, CancellationToken.None);

        Assert.Equal(["AspireChat", "SignalR relay"], result.Phases.Select(p => p.System));
        foreach (var phase in result.Phases)
        {
            Assert.True(phase.Check!.Passed, $"{phase.System}: {string.Join("\n", phase.Check.First)}");
            Assert.True(phase.Check.Counts.DeliveredAsExpected > 0, $"{phase.System} delivered nothing");
        }
        Assert.True(result.Passed, string.Join("\n", result.Errors));
        Assert.Contains("one-to-one", Reports.Markdown(result));
    }
}
