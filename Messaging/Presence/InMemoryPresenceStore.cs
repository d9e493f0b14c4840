using System.Collections.Concurrent;

namespace AspireChat.Messaging.Presence;

/// <summary>Presence for a single node (embedded mode): a dictionary in memory.</summary>
public sealed class InMemoryPresenceStore(TimeProvider time) : IPresenceStore
{
    private sealed class UserState
    {
        public readonly Dictionary<string, DevicePresence> Devices = new(StringComparer.Ordinal);
        public long? LastSeen;
    }

    private readonly ConcurrentDictionary<string, UserState> _users = new(StringComparer.Ordinal);

    public ValueTask ConnectAsync(string user, string device, string node, CancellationToken cancellationToken = default)
    {
        var state = _users.GetOrAdd(user, _ => new UserState());
        lock (state) state.Devices[device] = new DevicePresence(user, device, node, Now);
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
        lock (state) return ValueTask.FromResult<IReadOnlyList<DevicePresence>>(state.Devices.Count == 0 ? [] : [.. state.Devices.Values]);
    }

    public ValueTask<IReadOnlyList<UserPresence>> GetPresenceAsync(IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
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
                var online = state.Devices.Count > 0;
                result[i] = new UserPresence(users[i], online, [.. state.Devices.Keys.Order(StringComparer.Ordinal)], online ? Now : state.LastSeen);
            }
        }
        return ValueTask.FromResult<IReadOnlyList<UserPresence>>(result);
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
