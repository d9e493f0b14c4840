using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Tests.Support;
using OpenTelemetry.Trace;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// The <see cref="IDeliveryRouter"/> contract (decision 0009 gateway delivery), run against every adapter: a node gets the
/// entries routed to it and every broadcast, and nothing routed to another node.
/// </summary>
public abstract class DeliveryRouterContract
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..8];

    /// <summary>The router as gateway process <paramref name="process"/> sees it (each process has its own connection, where there is one).</summary>
    protected abstract IDeliveryRouter Router(int process);

    protected string Node(string name) => $"{name}-{_run}";

    private static InboxEntry Entry(string user, long seq, string text = "hi") => new(user, seq, new ChatMessage(
        1000 + seq, $"s:{user}:zed", seq, 0, "zed", user, 1, JsonDocument.Parse(JsonSerializer.Serialize(new { text })).RootElement, null, 1_700_000_000_000 + seq));

    [Fact]
    public async Task An_entry_routed_to_a_node_carries_its_message_s_trace_context_and_one_without_a_trace_none()
    {
        // The propagator is a no-op until the OpenTelemetry SDK is built, as in every host (ServiceDefaults).
        using var tracing = OpenTelemetry.Sdk.CreateTracerProviderBuilder().Build();
        var sink = new RecordingSink(Node("gw-trace"));
        using var registration = Router(1).Register(sink);
        var route = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(), System.Diagnostics.ActivitySpanId.CreateRandom(),
            System.Diagnostics.ActivityTraceFlags.Recorded);

        Assert.True(await Router(2).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", 1) with { Trace = route }, Entry("alice", 2)]));

        await Wait.UntilAsync(() => sink.Deliveries.Count == 1, "the node got its entries");
        var entries = sink.Deliveries.Single().Entries;
        Assert.Equal((route.TraceId, route.SpanId, route.TraceFlags), (entries[0].Trace.TraceId, entries[0].Trace.SpanId, entries[0].Trace.TraceFlags));
        Assert.Equal(default, entries[1].Trace);
    }

    [Fact]
    public async Task A_node_receives_the_entries_routed_to_it_and_every_broadcast_but_nothing_routed_elsewhere()
    {
        var (one, two) = (new RecordingSink(Node("gw1")), new RecordingSink(Node("gw2")));
        using var r1 = Router(1).Register(one);
        using var r2 = Router(2).Register(two);
        var sent = new[] { Entry("alice", 1, "first"), Entry("alice", 2, "second") };

        Assert.True(await Router(3).RouteAsync(one.Node, "alice", "phone", sent));
        var notice = new GroupNotice("g1", null, [new MembershipChange("bob", GroupRoles.Member), new MembershipChange("carol", null)]);
        await Router(3).BroadcastAsync(notice);

        await Wait.UntilAsync(() => one.Notices.Count == 1 && two.Notices.Count == 1, "both nodes got the group notice");
        await Wait.UntilAsync(() => one.Deliveries.Count == 1, "gw1 got its entries");
        var (user, device, entries) = one.Deliveries.Single();
        Assert.Equal(("alice", "phone"), (user, device));
        Assert.Equal(sent.Select(e => (e.User, e.Seq, e.Message.Id, e.Message.Conv, e.Message.Ts, e.Message.Body.GetProperty("text").GetString())),
            entries.Select(e => (e.User, e.Seq, e.Message.Id, e.Message.Conv, e.Message.Ts, e.Message.Body.GetProperty("text").GetString())));
        var got = two.Notices.Single();
        Assert.Equal("g1", got.Gid);
        Assert.Null(got.Message);
        Assert.Equal(notice.Changes, got.Changes);
        Assert.Empty(two.Deliveries);
    }

    [Fact]
    public async Task A_re_push_past_its_deadline_reaches_the_node_marked_as_one_and_a_new_entry_does_not()
    {
        var sink = new RecordingSink(Node("gw1"));
        using var registration = Router(1).Register(sink);

        Assert.True(await Router(2).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", 1)]));
        Assert.True(await Router(2).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", 1)], redelivery: true));

        await Wait.UntilAsync(() => sink.Deliveries.Count == 2, "both deliveries arrived");
        Assert.Equal(1, Assert.Single(Assert.Single(sink.Redeliveries)).Seq);
    }

    [Fact]
    public async Task Routing_to_a_node_nobody_serves_answers_false()
    {
        var sink = new RecordingSink(Node("gw1"));

        Assert.False(await Router(1).RouteAsync(Node("gone"), "alice", "phone", [Entry("alice", 1)]));
        var registration = Router(2).Register(sink);
        Assert.True(await Router(1).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", 1)]));
        registration.Dispose();
        // Over pub/sub the unsubscribe may reach the server a moment after Dispose returns.
        await Wait.UntilAsync(async () => !await Router(1).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", 2)]), "the node is no longer reachable");
        Assert.DoesNotContain(sink.Deliveries, d => d.Entries.Single().Seq == 2);
    }

    [Fact]
    public async Task Entries_routed_to_a_node_arrive_in_the_order_they_were_sent()
    {
        var sink = new RecordingSink(Node("gw1"));
        using var registration = Router(1).Register(sink);

        for (var seq = 1; seq <= 200; seq++) Assert.True(await Router(2).RouteAsync(sink.Node, "alice", "phone", [Entry("alice", seq)]));

        await Wait.UntilAsync(() => sink.Deliveries.Count == 200, "every entry arrived");
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), sink.Deliveries.Select(d => d.Entries.Single().Seq));
    }

    [Fact]
    public async Task A_signal_reaches_the_node_it_is_routed_to_byte_for_byte_and_no_other()
    {
        var (one, two) = (new RecordingSink(Node("gw1")), new RecordingSink(Node("gw2")));
        using var r1 = Router(1).Register(one);
        using var r2 = Router(2).Register(two);
        var frame = """{"t":"receipt","conv":"s:alice:bob","user":"bob","read":7}"""u8.ToArray();

        Assert.True(await Router(3).SignalAsync(one.Node, new DeviceSignal("alice", "phone", frame)));
        Assert.False(await Router(3).SignalAsync(Node("gone"), new DeviceSignal("alice", "phone", frame)));

        await Wait.UntilAsync(() => one.Signals.Count == 1, "gw1 got the signal");
        var got = one.Signals.Single();
        Assert.Equal(("alice", "phone"), (got.User, got.Device));
        Assert.Equal(frame, got.Frame);
        Assert.Empty(two.Signals);
    }

    /// <summary>A gateway node's sink that records what reaches it.</summary>
    public sealed class RecordingSink(string node) : IDeviceSink
    {
        public string Node => node;

        public ConcurrentQueue<(string User, string Device, IReadOnlyList<InboxEntry> Entries)> Deliveries { get; } = new();

        public ConcurrentQueue<GroupNotice> Notices { get; } = new();

        /// <summary>The deliveries marked as re-pushes past an ack deadline.</summary>
        public ConcurrentQueue<IReadOnlyList<InboxEntry>> Redeliveries { get; } = new();

        public bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false)
        {
            if (redelivery) Redeliveries.Enqueue(entries);
            Deliveries.Enqueue((user, device, entries));
            return true;
        }

        public void OnGroupNotice(GroupNotice notice) => Notices.Enqueue(notice);

        public ConcurrentQueue<DeviceSignal> Signals { get; } = new();

        public bool TrySignal(DeviceSignal signal)
        {
            Signals.Enqueue(signal);
            return true;
        }
    }
}
