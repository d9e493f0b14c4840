using static AspireChat.Messaging.Ids.SnowflakeId;

namespace AspireChat.Messaging.Ids;

/// <summary>In-process Snowflake id source for one worker id: lock-free, thread-safe, time from a <see cref="TimeProvider"/>.</summary>
public sealed class SnowflakeIdGenerator : IIdGenerator
{
    // The whole mutable state is one long, (millisecond << SequenceBits) | last issued sequence, moved forward by one
    // compare-and-swap per reservation; concurrent callers retry instead of queueing on a lock.
    // Before the first id it is millisecond -1 with its sequence used up, so the first reservation opens a millisecond.
    private const long NotStarted = -1;

    // A millisecond no clock reaches (year ~71,000), so the issuing paths never see it; only the clock-behind path checks it.
    private const long Refused = long.MaxValue;

    private readonly TimeProvider _timeProvider;
    private readonly long _epochUnixMillis;
    private readonly long _workerBits;
    private readonly long _maxBackwardMillis;
    private long _state = NotStarted;
    private string? _refusal;

    public SnowflakeIdGenerator(SnowflakeOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.WorkerId is < 0 or > MaxWorkerId)
        {
            throw new ArgumentOutOfRangeException(
                $"{nameof(options)}.{nameof(SnowflakeOptions.WorkerId)}", options.WorkerId,
                $"The Snowflake worker id must be within 0..{MaxWorkerId}.");
        }
        if (options.MaxBackwardStep < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                $"{nameof(options)}.{nameof(SnowflakeOptions.MaxBackwardStep)}", options.MaxBackwardStep,
                "The largest backward clock step to wait out cannot be negative.");
        }
        var now = timeProvider.GetUtcNow();
        if (options.Epoch > now)
        {
            throw new ArgumentOutOfRangeException(
                $"{nameof(options)}.{nameof(SnowflakeOptions.Epoch)}", options.Epoch,
                $"The Snowflake epoch {options.Epoch:O} is in the future (the clock reads {now:O}).");
        }
        if (now.ToUnixTimeMilliseconds() - options.Epoch.ToUnixTimeMilliseconds() > MaxMillis)
        {
            throw new ArgumentOutOfRangeException(
                $"{nameof(options)}.{nameof(SnowflakeOptions.Epoch)}", options.Epoch,
                $"The Snowflake epoch {options.Epoch:O} is more than {TimeBits} bits of milliseconds before now ({now:O}).");
        }

        _timeProvider = timeProvider;
        _epochUnixMillis = options.Epoch.ToUnixTimeMilliseconds();
        _workerBits = (long)options.WorkerId << WorkerIdShift;
        _maxBackwardMillis = (long)options.MaxBackwardStep.TotalMilliseconds;
        WorkerId = options.WorkerId;
        Epoch = options.Epoch;
    }

    /// <summary>The worker id every id from this generator carries.</summary>
    public int WorkerId { get; }

    /// <summary>The epoch to decompose this generator's ids with.</summary>
    public DateTimeOffset Epoch { get; }

    /// <summary>Issues one id, waiting (by re-reading the clock) when the millisecond's sequence is used up or the clock stepped back a little.</summary>
    /// <exception cref="IdGenerationException">The clock stepped back more than the allowed step, now or before.</exception>
    public long NextId()
    {
        long id = 0;
        NextIds(new Span<long>(ref id));
        return id;
    }

    /// <summary>Fills <paramref name="ids"/> with strictly ascending ids, reserving up to a millisecond's worth per step.</summary>
    /// <exception cref="IdGenerationException">The clock stepped back more than the allowed step, now or before.</exception>
    public void NextIds(Span<long> ids)
    {
        var spinner = new SpinWait();
        while (true)
        {
            ids = ids[Fill(ids, out _)..];
            if (ids.IsEmpty)
            {
                return;
            }
            // The clock stepped back a little: keep re-reading the provider until it passes the last issued millisecond.
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <inheritdoc />
    public ValueTask NextIdsAsync(Memory<long> ids, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        try
        {
            int filled = Fill(ids.Span, out long clockBehindMillis);
            return filled == ids.Length
                ? ValueTask.CompletedTask
                : WaitOutClockThenFillAsync(ids[filled..], clockBehindMillis, cancellationToken);
        }
        catch (IdGenerationException e)
        {
            return ValueTask.FromException(e);
        }
    }

    private async ValueTask WaitOutClockThenFillAsync(Memory<long> ids, long clockBehindMillis, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Force a yield: the timer's thread (with a fake clock, the thread moving time) must not run a spin on the clock.
            await Task.Delay(TimeSpan.FromMilliseconds(clockBehindMillis), _timeProvider, cancellationToken)
                .ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            ids = ids[Fill(ids.Span, out clockBehindMillis)..];
            if (ids.IsEmpty)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="ids"/>, spinning through sequence waits (always under a millisecond, so not worth a timer);
    /// stops early when the clock is behind the last issued millisecond and says by how many milliseconds.
    /// </summary>
    private int Fill(Span<long> ids, out long clockBehindMillis)
    {
        int filled = 0;
        var spinner = new SpinWait();
        while (filled < ids.Length)
        {
            int issued = TryIssue(ids[filled..], out clockBehindMillis);
            if (issued > 0)
            {
                filled += issued;
            }
            else if (clockBehindMillis > 0)
            {
                return filled;
            }
            else
            {
                // Never Thread.Sleep(1) here: it overshoots the next millisecond and would cost up to half the throughput.
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        clockBehindMillis = 0;
        return filled;
    }

    /// <summary>
    /// Reserves ids from the clock's current millisecond with one compare-and-swap and writes them to the front of
    /// <paramref name="ids"/> (not empty). Returns how many; zero when the millisecond's sequence is used up, or, with
    /// <paramref name="clockBehindMillis"/> above zero, when the clock must first advance that many milliseconds.
    /// </summary>
    private int TryIssue(Span<long> ids, out long clockBehindMillis)
    {
        bool lookedAgain = false;
        while (true)
        {
            // The state is read before the clock, so a clock that does not go back reads at least the state's millisecond.
            long state = Volatile.Read(ref _state);
            long now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds() - _epochUnixMillis;
            long lastMillis = state >> SequenceBits;
            long first;
            int count;
            if (now > lastMillis)
            {
                if (now > MaxMillis)
                {
                    throw new IdGenerationException(
                        $"Snowflake worker {WorkerId} has used up its {TimeBits}-bit millisecond range since the epoch {Epoch:O}.");
                }
                first = now << SequenceBits;
                count = Math.Min(ids.Length, MaxSequence + 1);
            }
            else if (now == lastMillis)
            {
                int used = (int)(state & MaxSequence);
                if (used == MaxSequence)
                {
                    clockBehindMillis = 0;
                    return 0;
                }
                first = state + 1;
                count = Math.Min(ids.Length, MaxSequence - used);
            }
            else
            {
                if (state == Refused)
                {
                    throw new IdGenerationException(Volatile.Read(ref _refusal) ?? "Snowflake generator refused.");
                }
                if (!lookedAgain)
                {
                    // An out-of-order clock read can race a newer state at a millisecond edge; only a second look is a step back.
                    lookedAgain = true;
                    continue;
                }
                long step = lastMillis - now;
                if (step > _maxBackwardMillis)
                {
                    Volatile.Write(ref _refusal,
                        $"Snowflake worker {WorkerId} refuses to issue ids: the clock stepped back {step} ms behind the last issued millisecond " +
                        $"(more than the {_maxBackwardMillis} ms it waits out). Restart the instance once the clock is trusted again.");
                    Interlocked.Exchange(ref _state, Refused);
                    throw new IdGenerationException(_refusal);
                }
                // Close the last issued millisecond so nothing more is issued in it: ids resume once the clock has passed it.
                long closed = state | MaxSequence;
                if (closed != state && Interlocked.CompareExchange(ref _state, closed, state) != state)
                {
                    continue;
                }
                clockBehindMillis = step + 1;
                return 0;
            }

            if (Interlocked.CompareExchange(ref _state, first + count - 1, state) != state)
            {
                continue;
            }
            long workerBits = _workerBits;
            for (int i = 0; i < count; i++)
            {
                long reserved = first + i;
                ids[i] = ((reserved >> SequenceBits) << TimeShift) | workerBits | (reserved & MaxSequence);
            }
            clockBehindMillis = 0;
            return count;
        }
    }
}
