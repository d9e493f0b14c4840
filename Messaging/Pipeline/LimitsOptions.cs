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
    /// <summary>Sustained client frames per second per connection, every kind counted (<c>sync</c>/<c>gsync</c> weigh <c>1 + limit/50</c>).</summary>
    public double FramesPerSecond { get; set; } = 200;
    /// <summary>Frames a connection may burst above <see cref="FramesPerSecond"/>.</summary>
    public int FrameBurst { get; set; } = 2000;
    /// <summary>Most devices of one user holding a connection at once; a hello for one more is refused (4403).</summary>
    public int MaxDevicesPerUser { get; set; } = 20;
}
