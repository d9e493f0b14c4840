namespace AspireChat.Messaging.Delivery;

/// <summary><c>Delivery:*</c> settings (docs/configuration.md).</summary>
public sealed class DeliveryOptions
{
    /// <summary>How long a pushed entry waits for the device's ack before it is pushed again.</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Pushes of one entry before it is left to sync.</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>Most unacknowledged entries in flight per device.</summary>
    public int Window { get; set; } = 1000;
    /// <summary>How often the retry loop looks for entries past their deadline.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
