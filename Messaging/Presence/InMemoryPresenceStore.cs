using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Presence;

/// <summary>
/// Presence for a single node (embedded mode): dictionaries in memory. A device counts as online only while
/// its node's last heartbeat (or connect) is within <see cref="PresenceOptions.NodeTtl"/>; reads drop the
/// devices of expired nodes, and heartbeats sweep expired nodes so their devices do not linger in memory.
/// </summary>
public sealed class InMemoryPresenceStore(TimeProvider time, IOptions<PresenceOptions> options) : IPresenceStore
{
    private sealed class UserState
    {
        public readonly Dictionary<string, DevicePresence> Devices = new(StringComparer.Ordinal);
        public long? LastSeen;
    }

    private sealed class NodeState(long lastBeat)
    {
        public long LastBeat = lastBeat;
        // Its devices were dropped after it expired: its next heartbeat asks it to register them again.
        public bool Lost;
    }

    private readonly ConcurrentDictionary<string, UserState> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private readonly long _ttl = (long)options.Value.NodeTtl.TotalMilliseconds;
    private long _lastSweep;

    public ValueTask<bool> HeartbeatAsync(string node, CancellationToken cancellationToken = default)
    {
        var now = Now;
        bool held;
        if (!_nodes.TryGetValue(node, out var state))
        {
            state = _nodes.GetOrAdd(node, _ => new NodeState(now));
            held = false;
        }
        else
        {
            lock (state)
            {
                held = !state.Lost && now - state.LastBeat <= _ttl;
                state.Lost = false;
                Volatile.Write(ref state.LastBeat, now);
            }
        }
        if (now - Volatile.Read(ref _lastSweep) >= _ttl / 2) Sweep(now);
        return ValueTask.FromResult(held);
    }

    public ValueTask ConnectAsync(string user, string device, string node, CancellationToken cancellationToken = default)
    {
        var now = Now;
        // A node that connects a device is alive.
        var nodeState = _nodes.GetOrAdd(node, _ => new NodeState(now));
        lock (nodeState)
        {
            // A node that had expired may have lost devices to reads already: its next heartbeat asks it to register them again.
            if (now - nodeState.LastBeat > _ttl) nodeState.Lost = true;
            Volatile.Write(ref nodeState.LastBeat, Math.Max(nodeState.LastBeat, now));
        }
        var state = _users.GetOrAdd(user, _ => new UserState());
        lock (state)
        {
            // A node registering its devices again keeps each one's connected-since time.
            var since = state.Devices.TryGetValue(device, out var current) && current.Node == node ? current.Since : now;
            state.Devices[device] = new DevicePresence(user, device, node, since);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask DisconnectAsync(string user, string device, string node, CancellationToken cancellationToken = default)
    {
        if (_users.TryGetValue(user, out var state))
        {
            lock (state)
            {
                if (state.Devices.TryGetValue(device, out var current) && current.Node == node)
                {
                    state.Devices.Remove(device);
                    state.LastSeen = Now;
                }
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<DevicePresence>> GetDevicesAsync(string user, CancellationToken cancellationToken = default)
    {
        if (!_users.TryGetValue(user, out var state)) return ValueTask.FromResult<IReadOnlyList<DevicePresence>>([]);
        lock (state)
        {
            DropExpired(state, Now);
            return ValueTask.FromResult<IReadOnlyList<DevicePresence>>(state.Devices.Count == 0 ? [] : [.. state.Devices.Values]);
        }
    }

    public ValueTask<IReadOnlyList<UserPresence>> GetPresenceAsync(IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var now = Now;
        var result = new UserPresence[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            if (!_users.TryGetValue(users[i], out var state))
            {
                result[i] = new UserPresence(users[i], false, [], null);
                continue;
            }
            lock (state)
            {
                DropExpired(state, now);
                var online = state.Devices.Count > 0;
                result[i] = new UserPresence(users[i], online, [.. state.Devices.Keys.Order(StringComparer.Ordinal)], online ? now : state.LastSeen);
            }
        }
        return ValueTask.FromResult<IReadOnlyList<UserPresence>>(result);
    }

    // Under the user's lock: devices whose node expired go offline, last seen when their node last proved alive.
    private void DropExpired(UserState state, long now)
    {
        List<string>? gone = null;
        foreach (var (device, presence) in state.Devices)
        {
            var lastBeat = _nodes.TryGetValue(presence.Node, out var node) ? Volatile.Read(ref node.LastBeat) : long.MinValue;
            if (now - lastBeat <= _ttl) continue;
            (gone ??= []).Add(device);
            if (lastBeat != long.MinValue) state.LastSeen = Math.Max(state.LastSeen ?? 0, lastBeat);
        }
        foreach (var device in gone ?? []) state.Devices.Remove(device);
    }

    // Marks expired nodes lost and drops their devices everywhere; forgets nodes silent for ten TTLs.
    private void Sweep(long now)
    {
        Volatile.Write(ref _lastSweep, now);
        var expired = false;
        foreach (var (id, node) in _nodes)
        {
            lock (node)
            {
                if (now - node.LastBeat <= _ttl) continue;
                if (!node.Lost) { node.Lost = true; expired = true; }
                else if (now - node.LastBeat > 10 * _ttl) _nodes.TryRemove(new KeyValuePair<string, NodeState>(id, node));
            }
        }
        if (!expired) return;
        foreach (var state in _users.Values)
        {
            lock (state) DropExpired(state, now);
        }
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
