using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Telemetry;

/// <summary>The gateway's hops of a message's trace: the push to each device and the device's ack, a child of its push.</summary>
public sealed class DevicePushTraceTests
{
    [Fact]
    public async Task A_message_s_trace_goes_on_to_the_push_to_each_device_and_the_recipient_s_ack_a_child_of_its_push()
    {
        var spans = new SpanList();
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = "always_on" }, configure: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var (alice, bob) = ($"alice-{Guid.NewGuid():n}"[..16], $"bob-{Guid.NewGuid():n}"[..16]);
        await using var a = await server.ConnectAsync(alice);
        await using var tablet = await server.ConnectAsync(alice, "tablet");
        await using var b = await server.ConnectAsync(bob);
        await a.SendChatAsync(1, bob, "traced");
        var id = (await a.ExpectAsync("ack")).GetProperty("id").GetString()!;
        var msg = await b.ExpectAsync("msg");
        await b.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        await Wait.UntilAsync(() => spans.Where(s => s.DisplayName == "receive" && Equals(s.GetTagItem("id"), id)).Count == 1, "receive");
        var trace = spans.Where(s => s.DisplayName == "receive" && Equals(s.GetTagItem("id"), id)).Single().TraceId;
        // Pushed to bob's device and to alice's tablet; the device that sent it holds it from its ack, which carried its seq
        // (embedded mode): no push to it.
        await tablet.ExpectAsync("msg");
        await Wait.UntilAsync(() => spans.OfTrace(trace).Count(s => s.DisplayName == "push") == 2 && spans.OfTrace(trace).Count(s => s.DisplayName == "ack") == 1, "push and ack");
        var mine = spans.OfTrace(trace);
        var ids = mine.Select(s => s.SpanId).ToHashSet();
        Assert.All(mine.Where(s => s.DisplayName != "receive"), s => Assert.Contains(s.ParentSpanId, ids));
        Assert.Equal([$"{alice}/tablet", $"{bob}/d1"],
            mine.Where(s => s.DisplayName == "push").Select(s => $"{s.GetTagItem("user")}/{s.GetTagItem("device")}").Order(StringComparer.Ordinal));
        var ack = mine.Single(s => s.DisplayName == "ack");
        Assert.Equal("push", mine.Single(s => s.SpanId == ack.ParentSpanId).DisplayName);
    }
}
