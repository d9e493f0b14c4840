using AspireChat.Messaging.Ids;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Ids;

/// <summary>How a worker id lease switches a <see cref="SnowflakeIdGenerator"/> on and off (docs/configuration.md), on a fake clock.</summary>
public sealed class SnowflakeLeaseTests
{
    private static readonly DateTimeOffset Start = SnowflakeId.DefaultEpoch + TimeSpan.FromDays(300);

    private static SnowflakeIdGenerator Leased(TimeProvider clock)
    {
        var generator = new SnowflakeIdGenerator(new SnowflakeOptions(), clock);
        generator.LoseLease("no lease yet");
        return generator;
    }

    [Fact]
    public async Task A_generator_without_a_lease_refuses_and_says_why()
    {
        var generator = Leased(new FakeTimeProvider(Start));

        var e = Assert.Throws<IdGenerationException>(() => generator.NextId());
        Assert.Contains("no lease yet", e.Message);
        await Assert.ThrowsAsync<IdGenerationException>(async () => await generator.NextIdsAsync(new long[3]));
    }

    [Fact]
    public void Ids_are_issued_only_for_milliseconds_within_the_lease_term()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Leased(clock);
        generator.HoldLease(5, Start + TimeSpan.FromSeconds(1));

        var first = generator.NextId();
        Assert.Equal(5, SnowflakeId.Decompose(first).WorkerId);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        var last = generator.NextId();
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var e = Assert.Throws<IdGenerationException>(() => generator.NextId());
        Assert.Contains("term ended", e.Message);

        // A renewal extends the term; ids go on above the earlier ones.
        generator.HoldLease(5, clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var renewed = generator.NextId();
        Assert.True(first < last && last < renewed);
    }

    [Fact]
    public void A_lost_lease_stops_the_generator_at_once_until_the_next_lease()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Leased(clock);
        generator.HoldLease(5, Start + TimeSpan.FromMinutes(1));
        var before = generator.NextId();

        generator.LoseLease("taken over");

        Assert.Contains("taken over", Assert.Throws<IdGenerationException>(() => generator.NextId()).Message);
        generator.HoldLease(5, Start + TimeSpan.FromMinutes(1));
        Assert.True(generator.NextId() > before);
    }

    [Fact]
    public async Task Moving_to_another_worker_id_in_the_same_millisecond_keeps_ids_ascending()
    {
        var clock = new WatchedClock(Start);
        var generator = Leased(clock);
        generator.HoldLease(900, Start + TimeSpan.FromMinutes(1));
        var ids = new long[10];
        generator.NextIds(ids);

        generator.LoseLease("lost");
        generator.HoldLease(3, Start + TimeSpan.FromMinutes(1));
        var moved = new long[10];
        var filling = Task.Run(() => generator.NextIds(moved));

        // The old worker id's millisecond is closed: the generator waits for the next one.
        Assert.True(clock.WaitForMoreReads());
        Assert.False(filling.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await filling.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3, generator.WorkerId);
        Assert.All(moved, id => Assert.Equal(3, SnowflakeId.Decompose(id).WorkerId));
        Assert.True(moved[0] > ids[^1]);
        Assert.Equal(SnowflakeId.Decompose(ids[^1]).Millis + 1, SnowflakeId.Decompose(moved[0]).Millis);
    }

    [Fact]
    public void A_lease_does_not_lift_a_refusal_for_a_clock_step()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = new SnowflakeIdGenerator(new SnowflakeOptions { WorkerId = 1 }, clock);
        generator.NextId();
        clock.AdjustTime(Start - TimeSpan.FromSeconds(5));
        Assert.Throws<IdGenerationException>(() => generator.NextId());

        generator.HoldLease(2, Start + TimeSpan.FromMinutes(1));
        clock.AdjustTime(Start + TimeSpan.FromSeconds(1));

        Assert.Contains("stepped back", Assert.Throws<IdGenerationException>(() => generator.NextId()).Message);
    }

    [Fact]
    public async Task Ids_issued_by_four_threads_while_the_lease_moves_between_worker_ids_are_unique_and_ascending_per_thread()
    {
        var generator = Leased(TimeProvider.System);
        generator.HoldLease(1, DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10));
        using var stop = new CancellationTokenSource();
        var moves = 0;
        var mover = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                if (i % 3 == 0) generator.LoseLease("moving");
                generator.HoldLease(i % 7, DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10));
                Interlocked.Increment(ref moves);
                Thread.SpinWait(2_000);
            }
        });

        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var ids = new List<long>(100_000);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Until the lease has moved a few times while this thread issued: on a loaded machine the mover may start late.
            var movesAtStart = Volatile.Read(ref moves);
            while (ids.Count < 100_000 || Volatile.Read(ref moves) < movesAtStart + 10)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the generator went on issuing ids");
                try
                {
                    ids.Add(generator.NextId());
                }
                catch (IdGenerationException)
                {
                    // Between LoseLease and HoldLease.
                }
            }
            return ids;
        })));
        await stop.CancelAsync();
        await mover;

        foreach (var ids in perThread)
        {
            for (var i = 1; i < ids.Count; i++) Assert.True(ids[i] > ids[i - 1], $"id #{i} is not above the one before");
        }
        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.True(all.Select(id => SnowflakeId.Decompose(id).WorkerId).Distinct().Count() > 1, "the worker id moved while ids were issued");
    }
}
