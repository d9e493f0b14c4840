namespace AspireChat.Messaging.Presence;

/// <summary><c>Presence:*</c> settings: how a dead gateway node's devices stop counting as online.</summary>
public sealed class PresenceOptions
{
    /// <summary>How often a gateway node tells presence it is alive.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>A node silent for longer than this is gone, and every device it held is offline.</summary>
    public TimeSpan NodeTtl { get; set; } = TimeSpan.FromSeconds(30);
}
