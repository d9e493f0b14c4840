using System.Diagnostics;
using System.Globalization;
using AspireChat.Messaging.Pipeline;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace AspireChat.Messaging;

/// <summary>
/// One trace per message (docs/configuration.md, Traces and metrics): it starts when a gateway takes a <c>send</c> from a WebSocket
/// and goes on through accept, the log, sequence, inbox and route to the push to each device and the device's ack. Every
/// hop's span is a child of the message's previous hop; a stage's batch span links to the messages it carries
/// (<see cref="BatchSpans"/>). Spans carry <c>conv</c>, <c>id</c> (the message id as the client sees it), <c>cseq</c>
/// and <c>seq</c>, so a message is found in the dashboard by its id.
/// </summary>
public static class MessageTracing
{
    public const string ConvTag = "conv";
    public const string IdTag = "id";
    public const string CseqTag = "cseq";
    public const string SeqTag = "seq";
    public const string UserTag = "user";
    public const string DeviceTag = "device";
    public const string ReqTag = "req";

    /// <summary>
    /// The root span of a message's trace: a <c>send</c> a gateway took from a device's socket, ended when the sender is
    /// answered (<see cref="Answered"/>, <see cref="Refused"/>). A trace of its own, not the connection's (its request
    /// span lasts as long as the socket), linked to the connection's span. Null when nothing samples it.
    /// </summary>
    public static Activity? StartReceive(string user, string device, long req, string conv)
    {
        if (!ChatTelemetry.Source.HasListeners()) return null;
        var connection = Activity.Current;
        Activity.Current = null;
        try
        {
            ActivityLink[]? links = connection is null ? null : [new ActivityLink(connection.Context)];
            var activity = ChatTelemetry.Source.StartActivity("receive", ActivityKind.Server, default(ActivityContext), links: links);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag(ConvTag, conv);
                activity.SetTag(UserTag, user);
                activity.SetTag(DeviceTag, device);
                activity.SetTag(ReqTag, req);
            }
            return activity;
        }
        finally
        {
            Activity.Current = connection;
        }
    }

    /// <summary>Ends a receive span: the send is durable as <paramref name="record"/>.</summary>
    public static void Answered(Activity? receive, SendRecord record, long? cseq, long? seq)
    {
        if (receive is null) return;
        receive.SetTag(IdTag, record.Id.ToString(CultureInfo.InvariantCulture));
        if (cseq is { } c) receive.SetTag(CseqTag, c);
        if (seq is { } s) receive.SetTag(SeqTag, s);
        StopKeepingCurrent(receive);
    }

    /// <summary>Ends a receive span: the send was refused or could not be made durable.</summary>
    public static void Refused(Activity? receive, SendRejection rejection)
    {
        if (receive is null) return;
        receive.SetStatus(ActivityStatusCode.Error, rejection.Code);
        receive.SetTag("error.type", rejection.Code);
        StopKeepingCurrent(receive);
    }

    /// <summary>Tags a span with the message it is about.</summary>
    public static void Tag(Activity? activity, long id, string conv, long cseq = 0)
    {
        if (activity is not { IsAllDataRequested: true }) return;
        activity.SetTag(ConvTag, conv);
        activity.SetTag(IdTag, id.ToString(CultureInfo.InvariantCulture));
        if (cseq > 0) activity.SetTag(CseqTag, cseq);
    }

    /// <summary>Tags a span with the inbox entry it is about.</summary>
    public static void Tag(Activity? activity, InboxEntry entry)
    {
        if (activity is not { IsAllDataRequested: true }) return;
        Tag(activity, entry.Message.Id, entry.Message.Conv, entry.Message.Cseq);
        activity.SetTag(UserTag, entry.User);
        activity.SetTag(SeqTag, entry.Seq);
    }

    /// <summary>
    /// The span of stage 2's hand-over of a new entry to the user's online devices (presence, pending claim, router), in the
    /// message's trace. The entry given to the router should carry the span's context (<see cref="Continue"/>).
    /// </summary>
    public static Activity? StartRoute(InboxEntry entry)
    {
        if (!entry.Trace.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)) return null;
        var current = Activity.Current;
        var activity = ChatTelemetry.Source.StartActivity("route", ActivityKind.Internal, entry.Trace);
        Activity.Current = current;
        Tag(activity, entry);
        return activity;
    }

    /// <summary>
    /// The span of a gateway writing <paramref name="entry"/> as a <c>msg</c> to <paramref name="device"/>'s socket, in the
    /// message's trace (a child of its route). Null for an entry without a sampled trace (one read back from the store:
    /// a backlog after hello, a window fill after an ack, a retry). The caller stops it once the frame is queued.
    /// </summary>
    public static Activity? StartPush(InboxEntry entry, string device)
    {
        if (!entry.Trace.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)) return null;
        var current = Activity.Current;
        var activity = ChatTelemetry.Source.StartActivity("push", ActivityKind.Producer, entry.Trace);
        Activity.Current = current;
        Tag(activity, entry);
        activity?.SetTag(DeviceTag, device);
        return activity;
    }

    /// <summary>
    /// The span of a device's cumulative ack through <paramref name="seq"/>: a child of the push of the entry at
    /// <paramref name="pushed"/> (the highest acked entry the device was pushed with a trace), linked to the pushes of
    /// the others it acknowledges (<paramref name="alsoAcked"/>). Null when none of them was traced.
    /// </summary>
    public static Activity? StartAck(string user, string device, long seq, ActivityContext pushed, IReadOnlyList<ActivityContext>? alsoAcked = null)
    {
        if (!pushed.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)) return null;
        List<ActivityLink>? links = null;
        if (alsoAcked is { Count: > 0 }) links = [.. alsoAcked.Select(c => new ActivityLink(c))];
        var current = Activity.Current;
        var activity = ChatTelemetry.Source.StartActivity("ack", ActivityKind.Consumer, pushed, links: links);
        Activity.Current = current;
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(UserTag, user);
            activity.SetTag(DeviceTag, device);
            activity.SetTag(SeqTag, seq);
        }
        return activity;
    }

    /// <summary>The entry as the next hop sees it: carrying <paramref name="span"/>'s context when there is one.</summary>
    public static InboxEntry Continue(InboxEntry entry, Activity? span) => span is null ? entry : entry with { Trace = span.Context };

    /// <summary>The W3C <c>traceparent</c> of <paramref name="context"/> (the propagator of the OpenTelemetry SDK; null before it is built).</summary>
    public static string? TraceParentOf(ActivityContext context)
    {
        if (context == default) return null;
        var traceParent = new string?[1];
        Propagators.DefaultTextMapPropagator.Inject(new PropagationContext(context, default), traceParent,
            static (carrier, key, value) => { if (key == "traceparent") carrier[0] = value; });
        return traceParent[0];
    }

    /// <summary>The context a W3C <c>traceparent</c> names; default when there is none or it does not parse.</summary>
    public static ActivityContext FromTraceParent(string? traceParent)
    {
        if (string.IsNullOrEmpty(traceParent)) return default;
        return Propagators.DefaultTextMapPropagator.Extract(default, traceParent,
            static (value, key) => key == "traceparent" ? [value] : []).ActivityContext;
    }

    /// <summary>Stops a span started elsewhere (another thread, another async flow) without changing this flow's current activity.</summary>
    public static void StopKeepingCurrent(Activity? activity)
    {
        if (activity is null) return;
        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current;
    }
}
