namespace AspireChat.Messaging.Ids;

/// <summary>The Snowflake id layout: 41-bit milliseconds since an epoch, 10-bit worker id, 12-bit sequence.</summary>
public static class SnowflakeId
{
    public const int SequenceBits = 12;
    public const int WorkerIdBits = 10;
    public const int TimeBits = 41;

    public const int MaxSequence = (1 << SequenceBits) - 1;
    public const int MaxWorkerId = (1 << WorkerIdBits) - 1;
    public const long MaxMillis = (1L << TimeBits) - 1;

    internal const int WorkerIdShift = SequenceBits;
    internal const int TimeShift = SequenceBits + WorkerIdBits;

    /// <summary>The epoch AspireChat ids count from unless configured otherwise.</summary>
    public static readonly DateTimeOffset DefaultEpoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Builds the id for a millisecond since the epoch, a worker and a sequence number.</summary>
    public static long Compose(long millis, int workerId, int sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(millis);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(millis, MaxMillis);
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, MaxWorkerId);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, MaxSequence);
        return (millis << TimeShift) | ((long)workerId << WorkerIdShift) | (long)sequence;
    }

    /// <summary>Splits an id counted from <see cref="DefaultEpoch"/> into its fields.</summary>
    public static SnowflakeIdParts Decompose(long id) => Decompose(id, DefaultEpoch);

    /// <summary>Splits an id into its fields; <paramref name="epoch"/> must be the one the id was issued with.</summary>
    public static SnowflakeIdParts Decompose(long id, DateTimeOffset epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        long millis = id >> TimeShift;
        return new SnowflakeIdParts(
            millis,
            DateTimeOffset.FromUnixTimeMilliseconds(epoch.ToUnixTimeMilliseconds() + millis),
            (int)((id >> WorkerIdShift) & MaxWorkerId),
            (int)(id & MaxSequence));
    }
}

/// <summary>The fields of one Snowflake id: its millisecond (since the epoch, and as a time), worker id and sequence.</summary>
public readonly record struct SnowflakeIdParts(long Millis, DateTimeOffset Time, int WorkerId, int Sequence);
