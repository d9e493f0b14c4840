using System.Diagnostics;
using System.Text.Json;
using AspireChat.Messaging;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Telemetry;

/// <summary>
/// The last hops of a message's trace, as a gateway's device session records them (<see cref="DeliveryTraces"/>), and
/// sampling: a hop whose message was not sampled gets no span, whatever the sampler of this process would decide.
/// </summary>
public sealed class DeliveryTraceTests : IDisposable
{
    private readonly ActivitySource _source = new("AspireChat.Tests.Telemetry.Delivery");
    private readonly SpanList _spans = new();
    private readonly TracerProvider _tracing;

    public DeliveryTraceTests() =>
        _tracing = Sdk.CreateTracerProviderBuilder().AddSource(ChatTelemetry.Name, _source.Name).AddInMemoryExporter(_spans).Build();

    [Fact]
    public void A_push_is_a_child_of_the_entry_s_route_and_an_ack_a_child_of_the_push_it_acknowledges_linked_to_the_others_it_covers()
    {
        var routes = Enumerable.Range(1, 3).Select(_ => Started("route")).ToArray();
        var traces = new DeliveryTraces("bob", "phone");
        var pushes = new List<Activity>();
        for (var seq = 1; seq <= 3; seq++)
        {
            var push = traces.StartPush(Entry(seq, routes[seq - 1]));
            Assert.NotNull(push);
            push.Stop();
            pushes.Add(push);
        }
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(routes[i].TraceId, pushes[i].TraceId);
            Assert.Equal(routes[i].SpanId, pushes[i].ParentSpanId);
            Assert.Equal("push", pushes[i].DisplayName);
            Assert.Equal((long)i + 1, pushes[i].GetTagItem("seq"));
            Assert.Equal("phone", pushes[i].GetTagItem("device"));
            Assert.Equal($"{100 + i + 1}", pushes[i].GetTagItem("id"));
        }

        var ack = traces.StartAck(2);
        Assert.NotNull(ack);
        ack.Stop();
        Assert.Equal("ack", ack.DisplayName);
        Assert.Equal(pushes[1].TraceId, ack.TraceId);
        Assert.Equal(pushes[1].SpanId, ack.ParentSpanId);
        Assert.Equal([pushes[0].SpanId], ack.Links.Select(l => l.Context.SpanId));
        Assert.Equal(2L, ack.GetTagItem("seq"));

        var last = traces.StartAck(3);
        Assert.NotNull(last);
        last.Stop();
        Assert.Equal(pushes[2].SpanId, last.ParentSpanId);
        Assert.Empty(last.Links);
        // Every traced push is acknowledged: a repeated ack belongs to no message's trace.
        Assert.Null(traces.StartAck(3));
        Assert.Contains(_spans.OfTrace(pushes[1].TraceId), s => s.SpanId == ack.SpanId);
    }

    [Fact]
    public void A_push_written_through_the_session_is_a_span_around_the_write_and_leaves_the_current_activity_as_it_was()
    {
        var route = Started("route");
        var traces = new DeliveryTraces("bob", "phone");
        using var connection = _source.StartActivity("GET /ws");
        Activity? during = null;
        traces.Push(Entry(1, route), 0, (_, entry) => during = Activity.Current);

        Assert.Same(connection, Activity.Current);
        Assert.Same(connection, during);
        var push = Assert.Single(_spans.OfTrace(route.TraceId), s => s.DisplayName == "push");
        Assert.Equal(route.SpanId, push.ParentSpanId);
        Assert.NotNull(traces.StartAck(1));
    }

    [Fact]
    public void An_entry_whose_message_was_not_sampled_or_has_no_trace_gets_no_push_span_and_its_ack_no_span()
    {
        var traces = new DeliveryTraces("bob", "phone");
        var unsampled = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);
        Assert.Null(traces.StartPush(Entry(1, default) with { Trace = unsampled }));
        Assert.Null(traces.StartPush(Entry(2, default)));
        Assert.Null(traces.StartAck(2));
    }

    [Fact]
    public void A_batch_gets_a_span_for_each_sampled_message_only_and_passes_an_unsampled_message_s_context_on_as_it_came()
    {
        var sampled = Started("previous hop");
        var unsampled = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);
        ActivityContext[] items = [sampled.Context, unsampled, default];
        using (var spans = BatchSpans.Start("stage", ActivityKind.Internal, items, c => c))
        {
            Assert.NotNull(spans.Batch);
            Assert.Equal(sampled.SpanId, spans[0]!.ParentSpanId);
            Assert.Null(spans[1]);
            Assert.Null(spans[2]);
            Assert.Equal(spans[0]!.Context, spans.TraceOf(0));
            Assert.Equal(unsampled, spans.TraceOf(1));
            Assert.Equal(default, spans.TraceOf(2));
            // The batch links to the messages that have a trace, sampled or not.
            Assert.Equal([sampled.SpanId, unsampled.SpanId], spans.Batch.Links.Select(l => l.Context.SpanId));
            Assert.Same(spans.Batch, Activity.Current);
        }
        Assert.Null(Activity.Current);
    }

    private Activity Started(string name)
    {
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = _source.StartActivity(name)!;
        activity.Stop();
        Activity.Current = previous;
        return activity;
    }

    private static InboxEntry Entry(long seq, Activity? route) =>
        new InboxEntry("bob", seq, new ChatMessage(100 + seq, "s:alice:bob", seq, 0, "alice", "bob", 1, JsonSerializer.SerializeToElement(new { text = "t" }), null, 0))
        {
            Trace = route?.Context ?? default,
        };

    public void Dispose()
    {
        _tracing.Dispose();
        _source.Dispose();
    }
}
