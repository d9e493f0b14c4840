using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// Relays <c>typing {conv}</c> to the other members' online devices as <c>typing {conv, user}</c>: never stored,
/// never retried, not in large groups (docs/protocol.md §12.8). The per-connection limit is <see cref="TypingThrottle"/>.
/// </summary>
public sealed class TypingRelay(ConversationMembership membership, DeviceSignals signals)
{
    /// <summary>Relays when <paramref name="user"/> is a member; returns the access verdict.</summary>
    public async ValueTask<ConversationAccess> RelayAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var access = await membership.CheckAsync(user, conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed || access.Large) return access;
        var frame = new TypingFrame { Conv = conv, User = user };
        foreach (var other in await membership.OthersAsync(access, user, cancellationToken).ConfigureAwait(false))
            await signals.SendAsync(other, frame, cancellationToken: cancellationToken).ConfigureAwait(false);
        return access;
    }
}

/// <summary>One connection's typing limit: at most one relayed per conversation per <see cref="Interval"/>; the rest are dropped.</summary>
public sealed class TypingThrottle(TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>True when a typing frame for <paramref name="conv"/> may be relayed now (and counts it).</summary>
    public bool TryTake(string conv)
    {
        var now = time.GetTimestamp();
        lock (_last)
        {
            if (_last.TryGetValue(conv, out var last) && time.GetElapsedTime(last, now) < Interval) return false;
            // A connection typing in many conversations keeps a small map: forget the stale ones.
            if (_last.Count >= 64) foreach (var stale in _last.Where(e => time.GetElapsedTime(e.Value, now) >= Interval).Select(e => e.Key).ToList()) _last.Remove(stale);
            _last[conv] = now;
            return true;
        }
    }
}
