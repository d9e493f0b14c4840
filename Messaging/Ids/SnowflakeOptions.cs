namespace AspireChat.Messaging.Ids;

/// <summary>Settings of one <see cref="SnowflakeIdGenerator"/>; validated when the generator is built.</summary>
public sealed class SnowflakeOptions
{
    /// <summary>This instance's worker id, 0..<see cref="SnowflakeId.MaxWorkerId"/>; leased so no two live instances share one.</summary>
    public int WorkerId { get; set; }

    /// <summary>Time zero of the 41-bit millisecond field; not in the future, and every reader of the ids must use the same one.</summary>
    public DateTimeOffset Epoch { get; set; } = SnowflakeId.DefaultEpoch;

    /// <summary>The largest backward clock step that is waited out; a larger one makes the generator refuse for good.</summary>
    public TimeSpan MaxBackwardStep { get; set; } = TimeSpan.FromMilliseconds(100);
}
