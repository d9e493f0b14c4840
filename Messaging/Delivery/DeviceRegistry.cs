using System.Collections.Concurrent;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// One gateway node's welcomed device sessions by (user, device) — the sink routed inbox entries and signals arrive
/// at — and the local map group → connected members, so one notice per node reaches every local member of a large
/// group without a lookup per member (decision 0009).
/// </summary>
public sealed class DeviceRegistry(string node) : IDeviceSink
{
    // A user's sessions on this node, as a small array replaced on every change (a user has a few devices; a
    // dictionary per user would cost more than the sessions it holds).
    private readonly ConcurrentDictionary<string, DeviceSession[]> _users = new(StringComparer.Ordinal);
    private int _count;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<DeviceSession, byte>> _groups = new(StringComparer.Ordinal);

    public string Node { get; } = node;

    /// <summary>Welcomed sessions on this node.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Makes <paramref name="session"/> the device's session; returns the one it replaces.</summary>
    public DeviceSession? Add(DeviceSession session)
    {
        DeviceSession? replaced = null;
        _users.AddOrUpdate(session.User, static (_, added) => [added], (_, sessions, added) =>
        {
            var at = Array.FindIndex(sessions, s => s.Device == added.Device);
            replaced = at < 0 ? null : sessions[at];
            var next = at < 0 ? new DeviceSession[sessions.Length + 1] : new DeviceSession[sessions.Length];
            sessions.CopyTo(next, 0);
            next[at < 0 ? sessions.Length : at] = added;
            return next;
        }, session);
        if (replaced is null) Interlocked.Increment(ref _count);
        return replaced;
    }

    /// <summary>Removes the device's session if it is still <paramref name="session"/>, and its group entries.</summary>
    public bool Remove(DeviceSession session)
    {
        foreach (var gid in session.JoinedGroups) LeaveGroup(gid, session);
        while (_users.TryGetValue(session.User, out var sessions))
        {
            var at = Array.IndexOf(sessions, session);
            if (at < 0) return false;
            var removed = sessions.Length == 1
                ? _users.TryRemove(new KeyValuePair<string, DeviceSession[]>(session.User, sessions))
                : _users.TryUpdate(session.User, [.. sessions[..at], .. sessions[(at + 1)..]], sessions);
            if (!removed) continue; // another device of the user came or went meanwhile: look again
            Interlocked.Decrement(ref _count);
            return true;
        }
        return false;
    }

    /// <summary>The (user, device) of every session on this node, for registering them in presence again.</summary>
    public IEnumerable<(string User, string Device)> Devices()
    {
        foreach (var (user, sessions) in _users)
        {
            foreach (var session in sessions) yield return (user, session.Device);
        }
    }

    /// <summary>True while a session of the device is on this node.</summary>
    public bool Holds(string user, string device) => Find(user, device) is not null;

    /// <summary>Enters a session into the local map of each of its user's groups.</summary>
    public void JoinGroups(DeviceSession session, IEnumerable<string> gids)
    {
        foreach (var gid in gids)
        {
            session.Groups.TryAdd(gid, 0);
            _groups.GetOrAdd(gid, _ => new()).TryAdd(session, 0);
        }
    }

    public bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false) =>
        Find(user, device) is { } session && session.TryPush(entries, redelivery);

    public bool TrySignal(DeviceSignal signal) => Find(signal.User, signal.Device) is { } session && session.TrySignal(signal.Frame);

    public void OnGroupNotice(GroupNotice notice)
    {
        foreach (var change in notice.Changes)
        {
            foreach (var session in SessionsOf(change.User))
            {
                if (change.Removes) LeaveGroup(notice.Gid, session);
                else JoinGroups(session, [notice.Gid]);
            }
        }
        if (notice.Message is { } message && _groups.TryGetValue(notice.Gid, out var members))
        {
            var frame = FrameCodec.Write(message.ToFrame());
            foreach (var session in members.Keys) session.PushGroupMessage(notice.Gid, message.Cseq, frame);
        }
    }

    private void LeaveGroup(string gid, DeviceSession session)
    {
        session.Groups.TryRemove(gid, out _);
        if (_groups.TryGetValue(gid, out var members)) members.TryRemove(session, out _);
    }

    private IEnumerable<DeviceSession> SessionsOf(string user) => _users.TryGetValue(user, out var sessions) ? sessions : [];

    private DeviceSession? Find(string user, string device)
    {
        if (!_users.TryGetValue(user, out var sessions)) return null;
        foreach (var session in sessions)
        {
            if (session.Device == device) return session;
        }
        return null;
    }
}
