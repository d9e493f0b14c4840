using AspireChat.Messaging.Ids;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Ids;

public sealed class SnowflakeIdGeneratorTests
{
    private const int Worker = 7;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Epoch = SnowflakeId.DefaultEpoch;

    // Part-way through a millisecond, so the generator's flooring to whole milliseconds matters.
    private static readonly DateTimeOffset Start = Epoch + TimeSpan.FromDays(400) + TimeSpan.FromTicks(1_234_5678);
    private static readonly long StartMillis = Start.ToUnixTimeMilliseconds() - Epoch.ToUnixTimeMilliseconds();

    private static SnowflakeIdGenerator Generator(TimeProvider clock, int workerId = Worker) =>
        new(new SnowflakeOptions { WorkerId = workerId }, clock);

    // Every read moves the clock 0.1 µs, so a millisecond ends after 10,000 reads: ids use up the
    // sequence first, and the generator's own wait is what moves the clock on.
    private static FakeTimeProvider ClockThatTicksOnEveryRead() => new(Start) { AutoAdvanceAmount = TimeSpan.FromTicks(1) };

    private static void AssertStrictlyAscending(IReadOnlyList<long> ids)
    {
        for (int i = 1; i < ids.Count; i++)
        {
            if (ids[i] <= ids[i - 1])
            {
                Assert.Fail($"id #{i} ({ids[i]}) is not above id #{i - 1} ({ids[i - 1]}).");
            }
        }
    }

    [Fact]
    public void A_million_ids_from_one_generator_are_unique_and_strictly_increasing()
    {
        var generator = Generator(ClockThatTicksOnEveryRead());

        var ids = new long[1_000_000];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = generator.NextId();
        }

        AssertStrictlyAscending(ids);
        Assert.Contains(ids, id => SnowflakeId.Decompose(id).Sequence == SnowflakeId.MaxSequence);
    }

    [Fact]
    public async Task A_million_ids_from_four_threads_at_once_are_all_unique()
    {
        var generator = Generator(TimeProvider.System);
        using var start = new Barrier(4);

        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            var ids = new long[250_000];
            Assert.True(start.SignalAndWait(Timeout));
            for (int i = 0; i < ids.Length; i++)
            {
                ids[i] = generator.NextId();
            }
            return ids;
        }, TaskCreationOptions.LongRunning))).WaitAsync(TimeSpan.FromMinutes(1));

        foreach (var ids in perThread)
        {
            AssertStrictlyAscending(ids);
        }
        Assert.Equal(1_000_000, perThread.SelectMany(ids => ids).Distinct().Count());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Worker)]
    [InlineData(SnowflakeId.MaxWorkerId)]
    public void Ids_decompose_to_the_worker_id_and_the_clock_millisecond(int workerId)
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Generator(clock, workerId);

        long first = generator.NextId();
        long second = generator.NextId();
        clock.Advance(TimeSpan.FromMilliseconds(5));
        long later = generator.NextId();

        var startTime = DateTimeOffset.FromUnixTimeMilliseconds(Start.ToUnixTimeMilliseconds());
        Assert.Equal(new SnowflakeIdParts(StartMillis, startTime, workerId, 0), SnowflakeId.Decompose(first));
        Assert.Equal(new SnowflakeIdParts(StartMillis, startTime, workerId, 1), SnowflakeId.Decompose(second));
        Assert.Equal(new SnowflakeIdParts(StartMillis + 5, startTime.AddMilliseconds(5), workerId, 0), SnowflakeId.Decompose(later));
    }

    [Fact]
    public async Task Using_up_the_sequence_of_a_millisecond_waits_for_the_next_millisecond()
    {
        var clock = new WatchedClock(Start);
        var generator = Generator(clock);
        var wholeMillisecond = new long[SnowflakeId.MaxSequence + 1];
        generator.NextIds(wholeMillisecond);

        var next = Task.Run(generator.NextId);
        Assert.True(clock.WaitForMoreReads(), "the generator never looked at the clock again");
        Assert.False(next.IsCompleted, "an id was issued while the millisecond's sequence was used up");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        long id = await next.WaitAsync(Timeout);

        for (int sequence = 0; sequence < wholeMillisecond.Length; sequence++)
        {
            var parts = SnowflakeId.Decompose(wholeMillisecond[sequence]);
            Assert.Equal((StartMillis, Worker, sequence), (parts.Millis, parts.WorkerId, parts.Sequence));
        }
        var nextParts = SnowflakeId.Decompose(id);
        Assert.Equal((StartMillis + 1, Worker, 0), (nextParts.Millis, nextParts.WorkerId, nextParts.Sequence));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(SnowflakeId.MaxSequence)]
    public async Task A_batch_larger_than_the_rest_of_a_millisecond_continues_in_the_next_millisecond(int alreadyIssued)
    {
        var clock = new WatchedClock(Start);
        var generator = Generator(clock);
        var earlier = new long[alreadyIssued];
        generator.NextIds(earlier);
        int restOfMillisecond = SnowflakeId.MaxSequence + 1 - alreadyIssued;
        var ids = new long[restOfMillisecond + 904];

        var batch = Task.Run(() => generator.NextIds(ids));
        Assert.True(clock.WaitForMoreReads(), "the generator never looked at the clock again");
        Assert.False(batch.IsCompleted, "the batch finished without waiting for the next millisecond");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await batch.WaitAsync(Timeout);

        AssertStrictlyAscending([.. earlier, .. ids]);
        var lastOfFirst = SnowflakeId.Decompose(ids[restOfMillisecond - 1]);
        var firstOfNext = SnowflakeId.Decompose(ids[restOfMillisecond]);
        var last = SnowflakeId.Decompose(ids[^1]);
        Assert.Equal((StartMillis, SnowflakeId.MaxSequence), (lastOfFirst.Millis, lastOfFirst.Sequence));
        Assert.Equal((StartMillis + 1, 0), (firstOfNext.Millis, firstOfNext.Sequence));
        Assert.Equal((StartMillis + 1, 903), (last.Millis, last.Sequence));
    }

    [Fact]
    public async Task After_a_small_backward_step_no_id_is_issued_until_the_clock_passes_the_last_millisecond()
    {
        var clock = new WatchedClock(Start);
        var generator = Generator(clock);
        long before = generator.NextId();
        clock.AdjustTime(Start - TimeSpan.FromMilliseconds(50));

        var next = Task.Run(generator.NextId);
        Assert.True(clock.WaitForMoreReads(), "the generator never looked at the clock again");
        Assert.False(next.IsCompleted, "an id was issued while the clock was behind");
        clock.AdjustTime(Start);
        Assert.True(clock.WaitForMoreReads(), "the generator never looked at the clock again");
        Assert.False(next.IsCompleted, "an id was issued in the last millisecond after the clock had gone back");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        long after = await next.WaitAsync(Timeout);

        Assert.True(after > before);
        Assert.Equal(StartMillis + 1, SnowflakeId.Decompose(after).Millis);
    }

    [Fact]
    public async Task NextIdsAsync_waits_out_a_small_backward_step_on_the_time_provider()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Generator(clock);
        long before = generator.NextId();
        clock.AdjustTime(Start - TimeSpan.FromMilliseconds(50));

        var ids = new long[3];
        var pending = generator.NextIdsAsync(ids).AsTask();
        Assert.False(pending.IsCompleted, "ids were issued while the clock was behind");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.False(pending.IsCompleted, "ids were issued in the last millisecond after the clock had gone back");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await pending.WaitAsync(Timeout);

        AssertStrictlyAscending([before, .. ids]);
        Assert.All(ids, id => Assert.Equal(StartMillis + 1, SnowflakeId.Decompose(id).Millis));
    }

    [Fact]
    public async Task A_backward_step_of_exactly_MaxBackwardStep_is_waited_out_and_one_millisecond_more_is_refused()
    {
        var options = new SnowflakeOptions { WorkerId = Worker, MaxBackwardStep = TimeSpan.FromMilliseconds(20) };
        var waitingClock = new FakeTimeProvider(Start);
        var waiting = new SnowflakeIdGenerator(options, waitingClock);
        var refusingClock = new FakeTimeProvider(Start);
        var refusing = new SnowflakeIdGenerator(options, refusingClock);
        waiting.NextId();
        refusing.NextId();

        waitingClock.AdjustTime(Start - TimeSpan.FromMilliseconds(20));
        refusingClock.AdjustTime(Start - TimeSpan.FromMilliseconds(21));
        var pending = waiting.NextIdsAsync(new long[1]).AsTask();

        Assert.False(pending.IsCompleted);
        await Assert.ThrowsAsync<IdGenerationException>(() => refusing.NextIdsAsync(new long[1]).AsTask());
        waitingClock.Advance(TimeSpan.FromMilliseconds(21));
        await pending.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_large_backward_step_is_refused_and_the_generator_stays_refused()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Generator(clock);
        generator.NextId();

        clock.AdjustTime(Start - TimeSpan.FromSeconds(1));
        var refusal = Assert.Throws<IdGenerationException>(() => generator.NextId());
        clock.AdjustTime(Start + TimeSpan.FromSeconds(1));

        Assert.Contains("stepped back", refusal.Message);
        Assert.Throws<IdGenerationException>(() => generator.NextId());
        Assert.Throws<IdGenerationException>(() => generator.NextIds(new long[10]));
        await Assert.ThrowsAsync<IdGenerationException>(() => generator.NextIdsAsync(new long[10]).AsTask());
    }

    [Fact]
    public async Task Cancelling_a_wait_for_the_clock_cancels_the_call_and_leaves_the_generator_working()
    {
        var clock = new FakeTimeProvider(Start);
        var generator = Generator(clock);
        long before = generator.NextId();
        clock.AdjustTime(Start - TimeSpan.FromMilliseconds(10));
        using var cancellation = new CancellationTokenSource();

        var pending = generator.NextIdsAsync(new long[1], cancellation.Token).AsTask();
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Timeout));
        clock.Advance(TimeSpan.FromMilliseconds(11));
        Assert.True(generator.NextId() > before);
    }

    [Fact]
    public async Task Batches_are_ascending_and_unique_across_calls()
    {
        var generator = Generator(ClockThatTicksOnEveryRead());
        IIdGenerator source = generator;
        var all = new List<long>();

        foreach (int size in new[] { 1, 2, 100, 4095, 4096, 4097, 10_000, 3 })
        {
            var sync = new long[size];
            generator.NextIds(sync);
            all.AddRange(sync);
            var async = new long[size];
            await source.NextIdsAsync(async).AsTask().WaitAsync(Timeout);
            all.AddRange(async);
            all.Add(generator.NextId());
        }

        AssertStrictlyAscending(all);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(SnowflakeId.MaxWorkerId + 1)]
    public void A_worker_id_outside_0_to_1023_is_rejected(int workerId)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Generator(new FakeTimeProvider(Start), workerId));
        Assert.Equal("options.WorkerId", e.ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(SnowflakeId.MaxWorkerId)]
    public void The_first_and_last_worker_ids_are_accepted(int workerId)
    {
        Assert.Equal(workerId, Generator(new FakeTimeProvider(Start), workerId).WorkerId);
    }

    [Fact]
    public void An_epoch_in_the_future_is_rejected()
    {
        var options = new SnowflakeOptions { Epoch = Start.AddMilliseconds(1) };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(options, new FakeTimeProvider(Start)));
        Assert.Equal("options.Epoch", e.ParamName);
        Assert.Contains("future", e.Message);
    }

    [Fact]
    public void An_epoch_too_long_ago_for_41_bits_of_milliseconds_is_rejected()
    {
        var options = new SnowflakeOptions { Epoch = Start - TimeSpan.FromMilliseconds(SnowflakeId.MaxMillis + 1) };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(options, new FakeTimeProvider(Start)));
        Assert.Equal("options.Epoch", e.ParamName);
    }

    [Fact]
    public void A_negative_MaxBackwardStep_is_rejected()
    {
        var options = new SnowflakeOptions { MaxBackwardStep = TimeSpan.FromMilliseconds(-1) };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(options, new FakeTimeProvider(Start)));
        Assert.Equal("options.MaxBackwardStep", e.ParamName);
    }

    [Fact]
    public void Missing_options_or_clock_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => new SnowflakeIdGenerator(null!, TimeProvider.System));
        Assert.Throws<ArgumentNullException>(() => new SnowflakeIdGenerator(new SnowflakeOptions(), null!));
    }
}
