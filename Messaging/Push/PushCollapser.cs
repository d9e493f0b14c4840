using System.Collections.Concurrent;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Presence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Turns the <c>chat.push</c> requests of a user into few notifications. The first request opens a window of
/// <c>Push:CollapseWindow</c>; every request within it only raises the count and moves "latest" on. When the
/// window closes, presence decides: a user who came online meanwhile gets nothing (the device syncs); otherwise
/// one notification goes out — unless the user had one less than <c>Push:MinInterval</c> ago, in which case it
/// waits until then and keeps collapsing (the per-user rate limit). A request for a conversation its user muted is
/// dropped before it counts (<see cref="AddAsync"/>).
/// </summary>
/// <remarks>
/// Windows live in memory: notifications are best effort (docs/decisions/0007). Messages themselves are safe in
/// the inbox whatever happens here.
/// </remarks>
public sealed partial class PushCollapser(
    IPresenceStore presence, IConsentStore consent, PushDispatcher dispatcher, IOptions<PushOptions> options, TimeProvider time,
    ILogger<PushCollapser> logger) : IAsyncDisposable
{
    private sealed class Pending(PushRequested latest, long due)
    {
        public int Count = 1;
        public PushRequested Latest = latest;
        public bool Mention = latest.Mention;
        public long Due = due;
        public ITimer? Timer;
    }

    private readonly PushOptions _options = options.Value;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastSent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _flushes = new();
    private readonly CancellationTokenSource _stopping = new();
    private long _lastPrune;

    /// <summary>Users with a notification waiting for its window (or rate limit) to pass.</summary>
    public int PendingUsers
    {
        get { lock (_gate) return _pending.Count; }
    }

    /// <summary>Completes when every notification whose window has closed has been decided and sent.</summary>
    internal Task IdleAsync() => Task.WhenAll(_flushes.Keys);

    /// <summary>
    /// Adds the requests of a batch (see <see cref="Add"/>) except those for a conversation their user muted: one
    /// consent lookup per conversation in the batch, for all its recipients at once.
    /// </summary>
    public async ValueTask AddAsync(IReadOnlyList<PushRequested> batch, CancellationToken cancellationToken = default)
    {
        foreach (var byConv in batch.GroupBy(r => r.Conv, StringComparer.Ordinal))
        {
            // A request that mentions its user notifies even when the conversation is muted (docs/protocol.md §13.1).
            var asked = byConv.Where(r => !r.Mention).Select(r => r.User).Distinct(StringComparer.Ordinal).ToList();
            IReadOnlySet<string> muted = asked.Count == 0 ? new HashSet<string>()
                : await consent.FindMutedUsersAsync(byConv.Key, asked, cancellationToken).ConfigureAwait(false);
            foreach (var request in byConv)
            {
                if (!request.Mention && muted.Contains(request.User)) ChatTelemetry.PushNotifications.Add(1, new KeyValuePair<string, object?>("result", "muted"));
                else Add(request);
            }
        }
    }

    /// <summary>Adds one request: opens the user's window, or collapses into the open one.</summary>
    public void Add(PushRequested request)
    {
        lock (_gate)
        {
            if (_pending.TryGetValue(request.User, out var pending))
            {
                pending.Count++;
                pending.Mention |= request.Mention;
                if (request.Seq >= pending.Latest.Seq) pending.Latest = request;
                return;
            }
            Schedule(request.User, new Pending(request, Now + (long)_options.CollapseWindow.TotalMilliseconds));
        }
    }

    /// <summary>Flushes every open window now (at shutdown), presence still deciding; waits for sends in flight.</summary>
    public async Task FlushAllAsync(CancellationToken cancellationToken = default)
    {
        List<(string User, Pending Pending)> all;
        lock (_gate)
        {
            all = [.. _pending.Select(p => (p.Key, p.Value))];
            foreach (var (_, pending) in all) pending.Timer?.Dispose();
            _pending.Clear();
        }
        foreach (var (user, pending) in all) Track(FlushAsync(user, pending, final: true));
        await Task.WhenAll(_flushes.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Under _gate.
    private void Schedule(string user, Pending pending)
    {
        _pending[user] = pending;
        var dueIn = TimeSpan.FromMilliseconds(Math.Max(0, pending.Due - Now));
        pending.Timer = time.CreateTimer(static state =>
        {
            var (self, user, pending) = ((PushCollapser, string, Pending))state!;
            self.WindowClosed(user, pending);
        }, (this, user, pending), dueIn, Timeout.InfiniteTimeSpan);
    }

    private void WindowClosed(string user, Pending pending)
    {
        lock (_gate)
        {
            // A timer that lost a race with FlushAllAsync or a merge finds its entry gone or replaced.
            if (!_pending.TryGetValue(user, out var current) || current != pending) return;
            _pending.Remove(user);
            pending.Timer?.Dispose();
        }
        Track(FlushAsync(user, pending, final: false));
    }

    private void Track(Task flush)
    {
        _flushes.TryAdd(flush, 0);
        _ = flush.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _),
            _flushes, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task FlushAsync(string user, Pending pending, bool final)
    {
        await Task.Yield();
        try
        {
            var devices = await presence.GetDevicesAsync(user, _stopping.Token).ConfigureAwait(false);
            if (devices.Count > 0)
            {
                ChatTelemetry.PushNotifications.Add(1, new KeyValuePair<string, object?>("result", "online"));
                return;
            }
            var now = Now;
            lock (_gate)
            {
                var minInterval = (long)_options.MinInterval.TotalMilliseconds;
                if (!final && _lastSent.TryGetValue(user, out var last) && now - last < minInterval)
                {
                    Defer(user, pending, last + minInterval);
                    ChatTelemetry.PushNotifications.Add(1, new KeyValuePair<string, object?>("result", "deferred"));
                    return;
                }
                _lastSent[user] = now;
                Prune(now, minInterval);
            }
            await dispatcher.DispatchAsync(new PushNotification(user, pending.Count, pending.Latest) { Mention = pending.Mention }, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested)
        {
            LogFlushFailed(logger, user, e);
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Under _gate: the rate limit holds the notification back until `due`, collapsing whatever arrives meanwhile.
    private void Defer(string user, Pending pending, long due)
    {
        if (_pending.TryGetValue(user, out var newer))
        {
            newer.Count += pending.Count;
            if (pending.Latest.Seq > newer.Latest.Seq) newer.Latest = pending.Latest;
            if (due <= newer.Due) return;
            newer.Due = due;
            newer.Timer?.Change(TimeSpan.FromMilliseconds(Math.Max(0, due - Now)), Timeout.InfiniteTimeSpan);
            return;
        }
        pending.Due = due;
        Schedule(user, pending);
    }

    // Under _gate: send times older than the interval no longer limit anything.
    private void Prune(long now, long minInterval)
    {
        if (_lastSent.Count < 4096 || now - _lastPrune < minInterval) return;
        _lastPrune = now;
        foreach (var (user, sent) in _lastSent)
        {
            if (now - sent >= minInterval) _lastSent.Remove(user);
        }
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            foreach (var pending in _pending.Values) pending.Timer?.Dispose();
            _pending.Clear();
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_flushes.Keys).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Sends cancelled or abandoned at shutdown: best effort.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push notification for {User} failed")]
    private static partial void LogFlushFailed(ILogger logger, string user, Exception exception);
}
