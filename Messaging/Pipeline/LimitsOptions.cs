namespace AspireChat.Messaging.Pipeline;

/// <summary><c>Limits:*</c> settings (docs/configuration.md).</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest WebSocket frame accepted; a larger one closes the connection (4413).</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;
    /// <summary>Largest <c>body</c> + <c>ex</c> of a send, in bytes of JSON; larger gets <c>too_large</c>.</summary>
    public int MaxBodyBytes { get; set; } = 16 * 1024;
    /// <summary>Sustained sends per second per connection.</summary>
    public double SendsPerSecond { get; set; } = 100;
    /// <summary>Sends a connection may burst above the sustained rate.</summary>
    public int SendBurst { get; set; } = 1000;
}
