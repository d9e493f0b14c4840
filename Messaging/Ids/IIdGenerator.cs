namespace AspireChat.Messaging.Ids;

/// <summary>Source of unique, increasing 64-bit message ids.</summary>
public interface IIdGenerator
{
    /// <summary>
    /// Fills <paramref name="ids"/> with fresh ids, strictly ascending (and above every id this source issued before).
    /// May wait (the sequence of a millisecond is used up, or the clock stepped back) or throw <see cref="IdGenerationException"/>.
    /// </summary>
    ValueTask NextIdsAsync(Memory<long> ids, CancellationToken cancellationToken = default);
}
