using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// The in-memory side of the <see cref="ICursorStore"/>: hands out <c>req</c>s and records acknowledged cursors.
/// Reqs are reserved in blocks: the store learns the block's top before any req of it reaches the wire, so a
/// restart never reuses one without a save per send.
/// </summary>
internal sealed class CursorKeeper(ICursorStore store, TimeProvider time)
{
    private const long ReqBlock = 1024;

    private readonly SemaphoreSlim _saveGate = new(1, 1);
    private readonly Lock _stateGate = new();
    private CursorState _state = new();
    private long _nextReq;
    private long _reservedHigh;
    private int _saveRequests;
    private Task _saving = Task.CompletedTask;
    private volatile bool _loaded;

    /// <summary>Raised when a background save fails (the next save retries with the latest state).</summary>
    public event Action<Exception>? SaveFailed;

    public bool IsLoaded => _loaded;

    /// <summary>The acknowledged cursor.</summary>
    public long? Seq
    {
        get { lock (_stateGate) return _state.Seq; }
    }

    public Dictionary<string, long>? Groups
    {
        get { lock (_stateGate) return _state.Groups is { Count: > 0 } g ? new Dictionary<string, long>(g) : null; }
    }

    /// <summary>Highest req handed out so far.</summary>
    public long IssuedHigh => Volatile.Read(ref _nextReq) - 1;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var loaded = await store.LoadAsync(cancellationToken) ?? new CursorState();
        // Without stored state the clock keeps restarts apart: unix ms × 1000 outruns any real send rate.
        var clock = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        lock (_stateGate) _state = loaded;
        _reservedHigh = loaded.ReqHigh;
        _nextReq = Math.Max(loaded.ReqHigh + 1, Math.Max(clock, 1));
        await ReserveAsync(_nextReq, cancellationToken);
        _loaded = true;
    }

    public long AllocateReq()
    {
        var req = Interlocked.Increment(ref _nextReq) - 1;
        if (req > Identifiers.MaxReq) throw new InvalidOperationException("req space exhausted for this device");
        return req;
    }

    /// <summary>Completes once <paramref name="req"/> is below the persisted reservation.</summary>
    public ValueTask EnsureReservedAsync(long req, CancellationToken cancellationToken) =>
        req <= Volatile.Read(ref _reservedHigh) ? ValueTask.CompletedTask : ReserveAsync(req, cancellationToken);

    private async ValueTask ReserveAsync(long req, CancellationToken cancellationToken)
    {
        await _saveGate.WaitAsync(cancellationToken);
        try
        {
            if (req <= _reservedHigh) return;
            var high = Math.Min(Identifiers.MaxReq, Math.Max(req, Volatile.Read(ref _nextReq)) + ReqBlock);
            CursorState snapshot;
            lock (_stateGate) snapshot = _state = _state with { ReqHigh = high };
            await store.SaveAsync(snapshot, cancellationToken);
            Volatile.Write(ref _reservedHigh, high);
        }
        finally
        {
            _saveGate.Release();
        }
    }

    /// <summary>Records the inbox cursor and group cursors as acknowledged (or surfaced by a closing client; each only
    /// moves forward) and saves them in the background, coalescing bursts.</summary>
    public void Record(long? seq, IReadOnlyDictionary<string, long>? groups)
    {
        lock (_stateGate)
        {
            var state = _state;
            if (seq is { } s && s > (state.Seq ?? -1)) state = state with { Seq = s };
            Dictionary<string, long>? merged = null;
            foreach (var (gid, cseq) in groups ?? new Dictionary<string, long>())
            {
                if (state.Groups is { } known && known.TryGetValue(gid, out var old) && old >= cseq) continue;
                // Copy on write: a save in progress serializes the previous dictionary.
                merged ??= state.Groups is null ? new(StringComparer.Ordinal) : new(state.Groups, StringComparer.Ordinal);
                merged[gid] = cseq;
            }
            if (merged is not null) state = state with { Groups = merged };
            if (ReferenceEquals(state, _state)) return;
            _state = state;
        }
        if (Interlocked.Increment(ref _saveRequests) == 1) _saving = SaveLoopAsync();
    }

    /// <summary>Waits for background saves to finish.</summary>
    public Task FlushAsync() => Volatile.Read(ref _saving);

    private async Task SaveLoopAsync()
    {
        await Task.Yield(); // off the writer loop
        int seen;
        do
        {
            seen = Volatile.Read(ref _saveRequests);
            await _saveGate.WaitAsync();
            try
            {
                CursorState snapshot;
                lock (_stateGate) snapshot = _state;
                await store.SaveAsync(snapshot, CancellationToken.None);
            }
            catch (Exception e)
            {
                SaveFailed?.Invoke(e);
            }
            finally
            {
                _saveGate.Release();
            }
        } while (Interlocked.Add(ref _saveRequests, -seen) != 0);
    }
}
