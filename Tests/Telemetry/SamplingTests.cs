using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Telemetry;

/// <summary>
/// Sampling follows the parent: a message whose receive was sampled is traced through every hop, one that was not
/// gets no span anywhere. Runs alone: another host's sampler in this process would sample the roots too.
/// </summary>
[Collection(nameof(ProcessWideTelemetry))]
public sealed class SamplingTests
{
    [Fact]
    public async Task With_a_ratio_sampler_each_message_is_traced_through_every_hop_or_not_at_all()
    {
        var spans = new SpanList();
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.5",
        }, configure: builder => builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)));
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        const int messages = 20;
        var ids = new List<string>();
        for (var req = 1; req <= messages; req++)
        {
            await alice.SendChatAsync(req, "bob", $"m{req}");
            ids.Add((await alice.ExpectAsync("ack")).GetProperty("id").GetString()!);
        }
        await bob.ExpectManyAsync("msg", messages);

        // Roots are sampled by trace id at a ratio of one half: 20 messages all in or all out is a one-in-a-million chance.
        var sampled = spans.Where(s => s.DisplayName == "receive").Select(s => (string)s.GetTagItem("id")!).ToHashSet();
        Assert.InRange(sampled.Count, 1, messages - 1);
        string[] hops = ["accept", "sequence", "inbox", "commit", "route"];
        string Seen() => string.Join("; ", ids.Select(id => $"{id} {(sampled.Contains(id) ? "sampled" : "not sampled")}: "
            + string.Join(",", spans.Where(s => Equals(s.GetTagItem("id"), id)).Select(s => s.DisplayName))));
        var routed = await Wait.TryUntilAsync(() => sampled.All(id => spans.Where(s => s.DisplayName == "route" && Equals(s.GetTagItem("id"), id)).Count == 2), Wait.Deadline);
        Assert.True(routed, $"every sampled message is routed to both devices in its trace; seen: {Seen()}");
        foreach (var id in ids)
        {
            var ofMessage = spans.Where(s => Equals(s.GetTagItem("id"), id));
            if (sampled.Contains(id)) Assert.All(hops, hop => Assert.Contains(ofMessage, s => s.DisplayName == hop));
            else Assert.Empty(ofMessage);
        }
    }
    [Fact]
    public async Task Without_an_otlp_endpoint_or_a_chosen_sampler_no_message_is_traced()
    {
        var spans = new SpanList();
        await using var server = await GatewayServer.StartAsync(
            configure: builder => builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)));
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, "bob", "untraced");
        await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        await bob.SendAsync(new { t = "ping" });
        await bob.ExpectAsync("pong");

        // Every hop of the message, its ack included, has run by now; a sampled one would have ended (and been exported) first.
        Assert.Empty(spans.Where(s => s.Source.Name == AspireChat.Messaging.ChatTelemetry.Name));
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_or_a_chosen_sampler_no_tracer_listens_so_not_even_unrecorded_spans_are_made()
    {
        // A tracer provider with an always-off sampler would still have every root span made, unrecorded (decision 0021).
        await using (var plain = await GatewayServer.StartAsync())
            Assert.Null(plain.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        await using var chosen = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = "always_on" });
        Assert.NotNull(chosen.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
    }
}
