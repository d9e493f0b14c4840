using System.Collections;
using System.Diagnostics;

namespace AspireChat.Tests.Telemetry;

/// <summary>
/// The spans an in-memory exporter hands over, safe to read while it writes. Activity listeners are process-wide, so it
/// also receives the spans of other tests' hosts: tests pick theirs by trace id.
/// </summary>
public sealed class SpanList : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];

    /// <summary>The spans of one trace exported so far.</summary>
    public List<Activity> OfTrace(ActivityTraceId trace)
    {
        lock (_spans) return _spans.Where(s => s.TraceId == trace).ToList();
    }

    /// <summary>The spans exported so far that match <paramref name="predicate"/>.</summary>
    public List<Activity> Where(Func<Activity, bool> predicate)
    {
        lock (_spans) return _spans.Where(predicate).ToList();
    }

    public void Add(Activity item)
    {
        lock (_spans) _spans.Add(item);
    }

    public int Count
    {
        get { lock (_spans) return _spans.Count; }
    }

    public bool IsReadOnly => false;
    public void Clear() { lock (_spans) _spans.Clear(); }
    public bool Contains(Activity item) { lock (_spans) return _spans.Contains(item); }
    public void CopyTo(Activity[] array, int arrayIndex) { lock (_spans) _spans.CopyTo(array, arrayIndex); }
    public bool Remove(Activity item) { lock (_spans) return _spans.Remove(item); }
    public IEnumerator<Activity> GetEnumerator() { lock (_spans) return _spans.ToList().GetEnumerator(); }
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
