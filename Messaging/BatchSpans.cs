using System.Diagnostics;

namespace AspireChat.Messaging;

/// <summary>
/// The spans of one stage's batch: a batch span linked to every message it carries (OpenTelemetry messaging conventions),
/// and for each sampled message one span in that message's own trace, child of the message's previous hop and linked
/// back to the batch. A message whose previous hop was not sampled gets no span here: sampling follows the parent.
/// </summary>
public sealed class BatchSpans : IDisposable
{
    private static readonly BatchSpans None = new(null, [], []);

    private readonly Activity? _batch;
    private readonly Activity?[] _messages;
    private readonly ActivityContext[] _parents;

    private BatchSpans(Activity? batch, Activity?[] messages, ActivityContext[] parents) =>
        (_batch, _messages, _parents, HasMessageSpans) = (batch, messages, parents, messages.Any(m => m is not null));

    /// <summary>The batch span: null when nothing listens, or when the batch's own trace was not sampled (the messages' may be).</summary>
    public Activity? Batch => _batch;

    /// <summary>Whether any message of the batch has a span here: only then do the items need their trace moved on.</summary>
    public bool HasMessageSpans { get; }

    /// <summary>The span of message <paramref name="index"/> in its own trace; null when it is not sampled.</summary>
    public Activity? this[int index] => index < _messages.Length ? _messages[index] : null;

    /// <summary>The context the next hop of message <paramref name="index"/> continues from: its span here, else what it came with.</summary>
    public ActivityContext TraceOf(int index) => index < _messages.Length ? _messages[index]?.Context ?? _parents[index] : default;

    /// <summary>
    /// Starts the spans named <paramref name="name"/> for <paramref name="items"/>, each of which carries its message's trace
    /// (<paramref name="traceOf"/>). The batch span is a child of the current activity (a consumer's batch span, or none).
    /// </summary>
    public static BatchSpans Start<T>(string name, ActivityKind kind, IReadOnlyList<T> items, Func<T, ActivityContext> traceOf)
    {
        if (!ChatTelemetry.Source.HasListeners() || items.Count == 0) return None;
        var parents = new ActivityContext[items.Count];
        List<ActivityLink>? links = null;
        for (var i = 0; i < parents.Length; i++)
        {
            parents[i] = traceOf(items[i]);
            if (parents[i] != default) (links ??= new List<ActivityLink>(items.Count)).Add(new ActivityLink(parents[i]));
        }

        var current = Activity.Current;
        var batch = ChatTelemetry.Source.StartActivity(name, kind, current?.Context ?? default, links: links);
        batch?.SetTag("messaging.batch.message_count", items.Count);
        var messages = new Activity?[parents.Length];
        ActivityLink[]? toBatch = batch is null ? null : [new ActivityLink(batch.Context)];
        for (var i = 0; i < parents.Length; i++)
        {
            if (!parents[i].TraceFlags.HasFlag(ActivityTraceFlags.Recorded)) continue;
            messages[i] = ChatTelemetry.Source.StartActivity(name, kind, parents[i], links: toBatch);
        }
        // The message spans are not the ambient activity: what runs inside the batch belongs to the batch.
        Activity.Current = batch ?? current;
        return new BatchSpans(batch, messages, parents);
    }

    /// <summary>Marks the batch and its message spans failed.</summary>
    public void Failed(Exception exception)
    {
        _batch?.SetStatus(ActivityStatusCode.Error, exception.Message);
        foreach (var message in _messages) message?.SetStatus(ActivityStatusCode.Error, exception.Message);
    }

    /// <summary>Ends the message spans, then the batch span; the ambient activity goes back to the batch's parent.</summary>
    public void Dispose()
    {
        if (_batch is null && _messages.Length == 0) return;
        var parent = _batch?.Parent ?? Activity.Current;
        foreach (var message in _messages) message?.Stop();
        _batch?.Stop();
        Activity.Current = parent;
    }
}
