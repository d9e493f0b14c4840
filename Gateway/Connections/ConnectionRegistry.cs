using System.Collections.Concurrent;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;

namespace AspireChat.Gateway.Connections;

/// <summary>This node's welcomed connections by (user, device): the sink routed inbox entries arrive at.</summary>
public sealed class ConnectionRegistry : IDeviceSink
{
    private readonly ConcurrentDictionary<(string User, string Device), ChatConnection> _connections = new();

    public ConnectionRegistry(IConfiguration configuration)
    {
        Node = configuration["Gateway:Node"] is { Length: > 0 } node
            ? node
            : $"{Environment.MachineName}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
    }

    public string Node { get; }

    public int Count => _connections.Count;

    /// <summary>Makes <paramref name="connection"/> the device's connection; returns the one it replaces.</summary>
    public ChatConnection? Add(string user, string device, ChatConnection connection)
    {
        ChatConnection? replaced = null;
        _connections.AddOrUpdate((user, device), connection, (_, old) => { replaced = old; return connection; });
        return replaced;
    }

    /// <summary>Removes the device's connection if it is still <paramref name="connection"/>.</summary>
    public bool Remove(string user, string device, ChatConnection connection) =>
        _connections.TryRemove(new KeyValuePair<(string, string), ChatConnection>((user, device), connection));

    public bool TryDeliver(string user, string device, IReadOnlyList<InboxEntry> entries) =>
        _connections.TryGetValue((user, device), out var connection) && connection.TryPush(entries);
}
