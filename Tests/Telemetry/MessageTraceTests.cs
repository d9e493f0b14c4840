using System.Diagnostics;
using AspireChat.Messaging;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Log;
using AspireChat.Tests.Log;
using AspireChat.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Telemetry;

/// <summary>
/// One trace per message (docs/configuration.md, Traces and metrics), in each composition of the stages: the spans of one
/// message share one trace from the WebSocket receive to the hand-over to each recipient device's gateway, each hop a
/// child of the one before, and every batch span links to the messages it carries.
/// </summary>
public abstract class MessageTraceTests
{
    /// <summary>The settings that choose the composition.</summary>
    protected abstract IDictionary<string, string?> Composition { get; }

    /// <summary>The message spans one one-to-one message has, beyond receive, accept, sequence, inbox and route.</summary>
    protected abstract string[] CompositionHops { get; }

    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    [Fact]
    public async Task The_spans_of_one_message_share_one_trace_from_receive_to_the_recipients_route_each_a_child_of_the_hop_before()
    {
        var (spans, trace, id, alice, bob) = await SendOneMessageAsync();
        List<Activity> Mine() => spans.OfTrace(trace);
        // Spans are exported as they end; the last hops end after the sender's ack.
        await Wait.UntilAsync(() => Mine().Count(s => s.DisplayName == "route") == 2, "both inbox entries were routed");

        var mine = Mine();
        var receive = Assert.Single(mine, s => s.DisplayName == "receive");
        Assert.Equal(default, receive.ParentSpanId);
        Assert.Equal(id, receive.GetTagItem("id"));
        string[] hops = ["accept", "sequence", "inbox", "route", .. CompositionHops];
        foreach (var hop in hops) Assert.Contains(mine, s => s.DisplayName == hop);
        // One chain: every span but the root is the child of another span of this trace.
        var spanIds = mine.Select(s => s.SpanId).ToHashSet();
        Assert.All(mine.Where(s => s != receive), s => Assert.Contains(s.ParentSpanId, spanIds));
        Assert.All(mine.Where(s => s.DisplayName is not ("receive" or "ack") && !s.DisplayName.StartsWith("send ", StringComparison.Ordinal)),
            s => Assert.Equal(id, s.GetTagItem("id")));
        // The inbox and route spans of each recipient: the sender's own inbox (its other devices) and bob's.
        Assert.Equal([alice, bob], mine.Where(s => s.DisplayName == "route").Select(s => (string)s.GetTagItem("user")!).Order());
        Assert.All(mine.Where(s => s.DisplayName is "inbox" or "route"), s => Assert.Equal(1L, s.GetTagItem("seq")));
        Assert.All(mine.Where(s => s.DisplayName is "sequence" or "inbox" or "route"), s => Assert.Equal(1L, s.GetTagItem("cseq")));
    }

    [Fact]
    public async Task Each_batch_span_links_to_the_hop_before_of_every_message_it_carries_and_each_message_span_links_back()
    {
        var (spans, trace, _, _, _) = await SendOneMessageAsync();
        await Wait.UntilAsync(() => spans.OfTrace(trace).Count(s => s.DisplayName == "route") == 2, "both inbox entries were routed");

        // The hops that run in batches; receive, route, and the gateway's push and ack are one message's each.
        var messageSpans = spans.OfTrace(trace).Where(s => s.DisplayName is not ("receive" or "route" or "push" or "ack")).ToList();
        Assert.NotEmpty(messageSpans);
        foreach (var span in messageSpans)
        {
            var batch = spans.Where(b => b.DisplayName == span.DisplayName && b.GetTagItem("messaging.batch.message_count") is not null
                && b.Links.Any(l => l.Context.TraceId == trace && l.Context.SpanId == span.ParentSpanId));
            var link = Assert.Single(batch);
            Assert.Contains(span.Links, l => l.Context.SpanId == link.SpanId);
        }
    }

    private async Task<(SpanList Spans, ActivityTraceId Trace, string Id, string Alice, string Bob)> SendOneMessageAsync()
    {
        var spans = new SpanList();
        // With no OTLP endpoint nothing is sampled unless a sampler is chosen (decision 0021): this exporter is ours.
        var settings = new Dictionary<string, string?>(Composition) { ["OTEL_TRACES_SAMPLER"] = "always_on" };
        await using var server = await GatewayServer.StartAsync(settings, configure: builder =>
        {
            Configure(builder);
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        });
        // Names of this test alone: the exporter sees every host in the process.
        var (alice, bob) = ($"alice-{Guid.NewGuid():n}"[..16], $"bob-{Guid.NewGuid():n}"[..16]);
        await using var a = await server.ConnectAsync(alice);
        await using var b = await server.ConnectAsync(bob);
        await a.SendChatAsync(1, bob, "traced");
        var id = (await a.ExpectAsync("ack")).GetProperty("id").GetString()!;
        Assert.Equal(id, (await b.ExpectAsync("msg")).GetProperty("id").GetString());

        await Wait.UntilAsync(() => spans.Where(s => s.DisplayName == "receive" && Equals(s.GetTagItem("user"), alice)).Count == 1, "the receive span ended");
        var receive = spans.Where(s => s.DisplayName == "receive" && Equals(s.GetTagItem("user"), alice)).Single();
        await Wait.UntilAsync(() => spans.OfTrace(receive.TraceId).Count(s => s.DisplayName == "route") == 2, "both inbox entries were routed");
        return (spans, receive.TraceId, id, alice, bob);
    }
}

/// <summary>The embedded composition: stages 0–2 in one write per batch, the context carried in memory.</summary>
public sealed class EmbeddedMessageTraceTests : MessageTraceTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();
    protected override string[] CompositionHops => ["commit"];
}

/// <summary>The distributed composition over the in-process log: the records carry the context in memory.</summary>
public sealed class DistributedMessageTraceTests : MessageTraceTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };
    protected override string[] CompositionHops => ["send chat.accepted", "send chat.inbox"];
}

/// <summary>
/// The distributed composition over Kafka (librdkafka's mock cluster) and Redis (Garnet): the context crosses produce →
/// consume in record headers. The gateway and a DeliveryWorker's stages share the process, so one exporter sees both.
/// </summary>
public sealed class KafkaMessageTraceTests : MessageTraceTests, IDisposable
{
    private readonly KafkaMockCluster _cluster = new(partitions: 2);
    private readonly GarnetHost _redis = new();

    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>
    {
        ["ConnectionStrings:kafka"] = _cluster.BootstrapServers,
        ["ConnectionStrings:redis"] = _redis.ConnectionString,
        ["Kafka:Partitions"] = "2",
        ["Kafka:SessionTimeout"] = "00:00:03",
        ["Kafka:HeartbeatInterval"] = "00:00:00.500",
        // The gateway issues ids one lease TTL after it took its worker id: 2 s rather than 10.
        ["Snowflake:Lease:Ttl"] = "00:00:02",
        ["Snowflake:Lease:RenewInterval"] = "00:00:00.500",
        ["Snowflake:Lease:SafetyMargin"] = "00:00:00.200",
    };

    protected override string[] CompositionHops => ["send chat.accepted", "send chat.inbox"];

    protected override void Configure(WebApplicationBuilder builder) => builder.AddDeliveryWorker();

    [Fact]
    public async Task A_message_span_after_the_Kafka_log_is_the_child_of_its_record_s_produce_span_and_the_consumer_s_batch_span_links_to_it()
    {
        var spans = new SpanList();
        using var source = new ActivitySource("AspireChat.Tests.Telemetry");
        // The propagator is a no-op until the OpenTelemetry SDK is built, as in every host (ServiceDefaults).
        using var tracing = OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource(ChatTelemetry.Name, source.Name).AddInMemoryExporter(spans).Build();
        using var log = new KafkaMessageLog(KafkaMessageLogContract.TestOptions(_cluster.BootstrapServers, partitions: 2), Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaMessageLog>.Instance);

        var conv = $"s:{Guid.NewGuid():n}:z";
        ActivityContext accepted;
        using (var accept = source.StartActivity("accept in the test"))
            accepted = accept!.Context;
        var record = new MessageAccepted(1, conv, 0, "a", "d", 1, "z", 1, System.Text.Json.JsonSerializer.SerializeToElement(new { text = "t" }), null, 0) { Trace = accepted };
        await log.AppendAsync(LogTopics.Accepted, [record]);

        var consumed = new TaskCompletionSource<(MessageAccepted Record, ActivityContext Batch)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var consumer = log.ConsumeAsync(LogTopics.Accepted, $"trace-{Guid.NewGuid():n}", (batch, _) =>
        {
            foreach (var r in batch.Where(r => r.Conv == conv)) consumed.TrySetResult((r, Activity.Current?.Context ?? default));
            return ValueTask.CompletedTask;
        }, stop.Token);
        var (received, batchContext) = await consumed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await consumer;

        var produce = Assert.Single(spans.OfTrace(accepted.TraceId), s => s.DisplayName == "send chat.accepted" && s.ParentSpanId == accepted.SpanId);
        Assert.Equal(ActivityKind.Producer, produce.Kind);
        Assert.Equal(accepted.TraceId, received.Trace.TraceId);
        Assert.Equal(produce.SpanId, received.Trace.SpanId);
        Assert.True(received.Trace.IsRemote);
        await Wait.UntilAsync(() => spans.Where(s => s.SpanId == batchContext.SpanId).Count == 1, "the consumer's batch span ended");
        var process = spans.Where(s => s.SpanId == batchContext.SpanId).Single();
        Assert.Equal("process chat.accepted", process.DisplayName);
        Assert.Contains(process.Links, l => l.Context.SpanId == produce.SpanId);
    }

    public void Dispose()
    {
        _cluster.Dispose();
        _redis.Dispose();
    }
}
