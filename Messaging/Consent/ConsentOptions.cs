namespace AspireChat.Messaging.Consent;

/// <summary><c>Consent:*</c> settings (docs/configuration.md).</summary>
public sealed class ConsentOptions
{
    /// <summary>Most users one user may block; one more is refused (<c>400</c>) until it unblocks someone.</summary>
    public int MaxBlocksPerUser { get; set; } = 1000;
}
