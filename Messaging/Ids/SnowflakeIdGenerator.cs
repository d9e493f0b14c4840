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

    // Like Refused, but only while a lease moves the generator to another worker id (HoldLease).
    private const long SwitchingWorker = long.MaxValue - 1;

    private readonly TimeProvider _timeProvider;
    private readonly long _epochUnixMillis;
    private readonly long _maxBackwardMillis;
    private long _workerBits;
    private long _state = NotStarted;
    private string? _refusal;

    // A leased worker id (docs/configuration.md) lets ids be issued only for milliseconds before the lease's term ends; without a
    // lease (a fixed worker id) the term never ends. One compare on the hot path, no lock: the lease sets these fields.
    private long _leaseEndMillis = long.MaxValue;
    private string? _leaseRefusal;
    private readonly Lock _leaseGate = new();

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
        Epoch = options.Epoch;
    }

    /// <summary>The worker id the ids from this generator carry (a lease may move it, see <see cref="HoldLease"/>).</summary>
    public int WorkerId => (int)(Volatile.Read(ref _workerBits) >> WorkerIdShift);

    /// <summary>
    /// A worker id lease was taken or renewed: issue ids as <paramref name="workerId"/> for every millisecond before
    /// <paramref name="termEnd"/>. Moving to another worker id closes the current millisecond first, so ids stay ascending.
    /// A generator refused for a clock step stays refused.
    /// </summary>
    public void HoldLease(int workerId, DateTimeOffset termEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, MaxWorkerId);
        long bits = (long)workerId << WorkerIdShift;
        long end = termEnd.ToUnixTimeMilliseconds() - _epochUnixMillis;
        lock (_leaseGate)
        {
            if (bits != _workerBits)
            {
                Volatile.Write(ref _leaseEndMillis, long.MinValue);
                long state;
                do
                {
                    state = Volatile.Read(ref _state);
                    if (state == Refused)
                    {
                        // Refused for a clock step, for good: let its own message answer.
                        Volatile.Write(ref _leaseEndMillis, end);
                        return;
                    }
                }
                while (Interlocked.CompareExchange(ref _state, SwitchingWorker, state) != state);
                Volatile.Write(ref _workerBits, bits);
                // Close the millisecond: the new worker id starts in a later one than any id of the old. A reservation that read
                // the old worker id and wins its compare-and-swap after this sees the worker id changed, and drops it.
                long next = state | MaxSequence;
                // Fails only when a clock refusal came in meanwhile, which is for good.
                Interlocked.CompareExchange(ref _state, next, SwitchingWorker);
            }
            Volatile.Write(ref _leaseRefusal, null);
            Volatile.Write(ref _leaseEndMillis, end);
        }
    }

    /// <summary>The worker id lease is lost (or not taken yet): refuse at once, until the next <see cref="HoldLease"/>.</summary>
    public void LoseLease(string reason)
    {
        lock (_leaseGate)
        {
            Volatile.Write(ref _leaseRefusal, reason);
            Volatile.Write(ref _leaseEndMillis, long.MinValue);
        }
    }

    /// <summary>The epoch to decompose this generator's ids with.</summary>
    public DateTimeOffset Epoch { get; }

    /// <summary>Issues one id, waiting (by re-reading the clock) when the millisecond's sequence is used up or the clock stepped back a little.</summary>
    /// <exception cref="IdGenerationException">The clock stepped back more than the allowed step, now or before; or the worker id lease is not held.</exception>
    public long NextId()
    {
        long id = 0;
        NextIds(new Span<long>(ref id));
        return id;
    }

    /// <summary>Fills <paramref name="ids"/> with strictly ascending ids, reserving up to a millisecond's worth per step.</summary>
    /// <exception cref="IdGenerationException">The clock stepped back more than the allowed step, now or before; or the worker id lease is not held.</exception>
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
            // Read in this order, against HoldLease's writes in the opposite order: a worker id read here belongs to the
            // lease term read before it, and the state read after it is no older than that worker id.
            long leaseEnd = Volatile.Read(ref _leaseEndMillis);
            long workerBits = Volatile.Read(ref _workerBits);
            // The state is read before the clock, so a clock that does not go back reads at least the state's millisecond.
            long state = Volatile.Read(ref _state);
            long now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds() - _epochUnixMillis;
            if (now >= leaseEnd)
            {
                throw LeaseRefusal(workerBits, leaseEnd);
            }
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
                if (state == SwitchingWorker)
                {
                    throw LeaseRefusal(workerBits, long.MinValue);
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
            if (Volatile.Read(ref _workerBits) != workerBits)
            {
                // A lease moved the worker id under this reservation: drop it (a gap in the sequence) and reserve anew.
                continue;
            }
            for (int i = 0; i < count; i++)
            {
                long reserved = first + i;
                ids[i] = ((reserved >> SequenceBits) << TimeShift) | workerBits | (reserved & MaxSequence);
            }
            clockBehindMillis = 0;
            return count;
        }
    }

    private IdGenerationException LeaseRefusal(long workerBits, long leaseEnd)
    {
        int worker = (int)(workerBits >> WorkerIdShift);
        string? reason = Volatile.Read(ref _leaseRefusal);
        return new IdGenerationException(reason is not null || leaseEnd == long.MinValue
            ? $"Snowflake worker {worker} holds no worker id lease: {reason ?? "it is changing hands"}."
            : $"Snowflake worker {worker} holds no worker id lease: its term ended at " +
              $"{DateTimeOffset.FromUnixTimeMilliseconds(_epochUnixMillis + leaseEnd):O} without a renewal.");
    }
}
