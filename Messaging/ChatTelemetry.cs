using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AspireChat.Messaging;

/// <summary>The "AspireChat" activity source and meter every stage reports through (DESIGN §10).</summary>
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
}
