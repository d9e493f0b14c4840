using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Ids;

/// <summary>A fake clock that counts its reads, so a test can see that someone is still waiting on it.</summary>
internal sealed class WatchedClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private long _reads;

    public override DateTimeOffset GetUtcNow()
    {
        Interlocked.Increment(ref _reads);
        return base.GetUtcNow();
    }

    /// <summary>Waits (up to a timeout) until the clock has been read <paramref name="count"/> more times.</summary>
    public bool WaitForMoreReads(int count = 1_000)
    {
        long target = Volatile.Read(ref _reads) + count;
        return SpinWait.SpinUntil(() => Volatile.Read(ref _reads) >= target, TimeSpan.FromSeconds(10));
    }
}
