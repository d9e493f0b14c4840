using System.Diagnostics;
using System.Diagnostics.Metrics;

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
    public static readonly Counter<long> PushRequested = Meter.CreateCounter<long>("aspirechat.push.requested", description: "Inbox entries for users with no online device (appended to chat.push)");
    public static readonly Counter<long> PushNotifications = Meter.CreateCounter<long>("aspirechat.push.notifications", description: "Collapsed notifications, by result: sent, online (the user came online), no_subscription, deferred (rate limit)");
    public static readonly Counter<long> PushAttempts = Meter.CreateCounter<long>("aspirechat.push.attempts", description: "Sends to a provider, by provider and outcome (delivered, gone, failed)");
    public static readonly Counter<long> PushSubscriptionsRemoved = Meter.CreateCounter<long>("aspirechat.push.subscriptions.removed", description: "Subscriptions removed because their provider reported them gone");
    public static readonly Histogram<double> PushDuration = Meter.CreateHistogram<double>("aspirechat.push.duration", unit: "ms", description: "Time of one provider send, retries included");
}
