using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AspireChat.Messaging.Delivery;

namespace AspireChat.Messaging;

/// <summary>The "AspireChat" activity source and meter every stage reports through (docs/configuration.md).</summary>
public static class ChatTelemetry
{
    public const string Name = "AspireChat";
    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);
    public static readonly Counter<long> Accepted = Meter.CreateCounter<long>("aspirechat.messages.accepted", description: "Sends made durable and acknowledged");
    public static readonly Counter<long> Sequenced = Meter.CreateCounter<long>("aspirechat.messages.sequenced", description: "Messages given a cseq");
    public static readonly Counter<long> InboxAppended = Meter.CreateCounter<long>("aspirechat.inbox.appended", description: "Inbox entries written");
    public static readonly Counter<long> Retried = Meter.CreateCounter<long>("aspirechat.delivery.retries", description: "Entries pushed again after their ack deadline");
    public static readonly Counter<long> Acked = Meter.CreateCounter<long>("aspirechat.delivery.acks", description: "Cumulative acks from devices");
    public static readonly Counter<long> Delivered = Meter.CreateCounter<long>("aspirechat.messages.delivered", description: "New inbox entries handed to the gateway of an online device of their user (stage 2, live)");
    public static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram<double>("aspirechat.delivery.latency", unit: "ms",
        description: "From a message's accept (its ts, whole milliseconds) until stage 2 handed its inbox entry to the gateway of an online device",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] });
    public static readonly UpDownCounter<long> Connections = Meter.CreateUpDownCounter<long>("aspirechat.connections", unit: "{connection}",
        description: "Welcomed WebSocket connections this gateway holds");
    public static readonly Counter<long> PushRequested = Meter.CreateCounter<long>("aspirechat.push.requested", description: "Inbox entries for users with no online device (appended to chat.push)");
    public static readonly Counter<long> PushNotifications = Meter.CreateCounter<long>("aspirechat.push.notifications", description: "Collapsed notifications, by result: sent, online (the user came online), no_subscription, deferred (rate limit)");
    public static readonly Counter<long> PushAttempts = Meter.CreateCounter<long>("aspirechat.push.attempts", description: "Sends to a provider, by provider and outcome (delivered, gone, failed)");
    public static readonly Counter<long> PushSubscriptionsRemoved = Meter.CreateCounter<long>("aspirechat.push.subscriptions.removed", description: "Subscriptions removed because their provider reported them gone");
    public static readonly Histogram<double> PushDuration = Meter.CreateHistogram<double>("aspirechat.push.duration", unit: "ms", description: "Time of one provider send, retries included");

    // One source per pipeline in this process (tests run several); the gauge reads their sum.
    private static readonly ConcurrentDictionary<IPendingAcks, byte> PendingSources = new(ReferenceEqualityComparer.Instance);

    private static readonly ObservableGauge<long> PendingAcks = Meter.CreateObservableGauge("aspirechat.delivery.pending",
        () => PendingSources.Keys.Sum(p => p.Count), unit: "{entry}", description: "Inbox entries pushed to devices and not yet acknowledged");

    /// <summary>Reports <paramref name="pending"/>'s depth on <c>aspirechat.delivery.pending</c> until disposed.</summary>
    public static IDisposable ObservePendingAcks(IPendingAcks pending)
    {
        _ = PendingAcks;
        PendingSources.TryAdd(pending, 0);
        return new Observation(() => PendingSources.TryRemove(pending, out _));
    }

    private sealed class Observation(Action end) : IDisposable
    {
        public void Dispose() => end();
    }
}
