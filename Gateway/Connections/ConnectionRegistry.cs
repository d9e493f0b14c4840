using System.Collections.Concurrent;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// This node's welcomed connections by (user, device) — the sink routed inbox entries arrive at — and
/// the local map group → connected members, so one notice per node reaches every local member of a
/// large group without a lookup per member (decision 0009).
/// </summary>
public sealed class ConnectionRegistry : IDeviceSink
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, ChatConnection>> _users = new(StringComparer.Ordinal);
    private int _count;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<ChatConnection, byte>> _groups = new(StringComparer.Ordinal);

    public ConnectionRegistry(Microsoft.Extensions.Options.IOptions<GatewayOptions> options)
    {
        Node = options.Value.Node is { Length: > 0 } node
            ? node
            : $"{Environment.MachineName}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
    }

    public string Node { get; }

    /// <summary>Welcomed connections on this node.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Makes <paramref name="connection"/> the device's connection; returns the one it replaces.</summary>
    public ChatConnection? Add(string user, string device, ChatConnection connection)
    {
        ChatConnection? replaced = null;
        _users.GetOrAdd(user, _ => new(StringComparer.Ordinal)).AddOrUpdate(device, connection, (_, old) => { replaced = old; return connection; });
        if (replaced is null) Interlocked.Increment(ref _count);
        return replaced;
    }

    /// <summary>Removes the device's connection if it is still <paramref name="connection"/>, and its group entries.</summary>
    public bool Remove(string user, string device, ChatConnection connection)
    {
        foreach (var gid in connection.JoinedGroups) LeaveGroup(gid, connection);
        if (!_users.TryGetValue(user, out var devices) || !devices.TryRemove(new KeyValuePair<string, ChatConnection>(device, connection))) return false;
        Interlocked.Decrement(ref _count);
        // An empty device map stays; removing it here could race with a concurrent Add for the same user.
        return true;
    }

    /// <summary>The (user, device) of every connection on this node, for registering them in presence again.</summary>
    public IEnumerable<(string User, string Device)> Devices()
    {
        foreach (var (user, devices) in _users)
        {
            foreach (var device in devices.Keys) yield return (user, device);
        }
    }

    /// <summary>True while a connection of the device is on this node.</summary>
    public bool Holds(string user, string device) => _users.TryGetValue(user, out var devices) && devices.ContainsKey(device);

    /// <summary>Enters a connection into the local map of each of its user's groups.</summary>
    public void JoinGroups(ChatConnection connection, IEnumerable<string> gids)
    {
        foreach (var gid in gids)
        {
            connection.Groups.TryAdd(gid, 0);
            _groups.GetOrAdd(gid, _ => new()).TryAdd(connection, 0);
        }
    }

    public bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries) =>
        _users.TryGetValue(user, out var devices) && devices.TryGetValue(device, out var connection) && connection.TryPush(entries);

    public bool TrySignal(DeviceSignal signal) =>
        _users.TryGetValue(signal.User, out var devices) && devices.TryGetValue(signal.Device, out var connection) && connection.TrySignal(signal.Frame);

    public void OnGroupNotice(GroupNotice notice)
    {
        foreach (var change in notice.Changes)
        {
            foreach (var connection in ConnectionsOf(change.User))
            {
                if (change.Removes) LeaveGroup(notice.Gid, connection);
                else JoinGroups(connection, [notice.Gid]);
            }
        }
        if (notice.Message is { } message && _groups.TryGetValue(notice.Gid, out var members))
        {
            var frame = FrameCodec.Write(message.ToFrame());
            foreach (var connection in members.Keys) connection.PushGroupMessage(notice.Gid, message.Cseq, frame);
        }
    }

    private void LeaveGroup(string gid, ChatConnection connection)
    {
        connection.Groups.TryRemove(gid, out _);
        if (_groups.TryGetValue(gid, out var members)) members.TryRemove(connection, out _);
    }

    private IEnumerable<ChatConnection> ConnectionsOf(string user) =>
        _users.TryGetValue(user, out var devices) ? devices.Values : [];
}
