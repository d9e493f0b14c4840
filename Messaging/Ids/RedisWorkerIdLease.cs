using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Messaging.Ids;

/// <summary><c>Snowflake:Lease:*</c> settings of <see cref="RedisWorkerIdLease"/>.</summary>
public sealed class WorkerIdLeaseOptions
{
    /// <summary>How long a worker id stays leased in Redis without a renewal.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the holder renews; well under <see cref="Ttl"/>, so one or two failed renewals are survived.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How much sooner than Redis the generator ends a term: covers the time a command takes to arrive and the
    /// clocks of this instance and Redis running at slightly different rates.
    /// </summary>
    public TimeSpan SafetyMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Key of worker id N: this prefix and N.</summary>
    public string KeyPrefix { get; set; } = "aspirechat:worker-id:";

    /// <summary>What the lease key holds; unique per instance (default: machine, process and a random part).</summary>
    public string? Owner { get; set; }
}

/// <summary>
/// Leases a Snowflake worker id 0..1023 in Redis (docs/configuration.md) and drives <see cref="Generator"/> by it: a free id is taken
/// with <c>SET key owner NX PX ttl</c> (the id held before first, else the lowest free one), renewed by compare-and-extend
/// while this instance still owns it, and released at stop. The generator issues ids only within the lease's term
/// (the renewal time plus the TTL, less <see cref="WorkerIdLeaseOptions.SafetyMargin"/>): a renewal that fails or cannot reach
/// Redis before the term ends stops it, until a lease is held again.
/// </summary>
/// <remarks>
/// A newly taken id is used only one TTL after it was taken. Redis may have lost the key of a live holder (a restart
/// without persistence, a failover): that holder finds its key gone or taken at its next renewal and stops by the end of
/// its term, which is within one TTL. Clocks of the instances must agree to within the safety margin, as for any Snowflake ids.
/// </remarks>
public sealed partial class RedisWorkerIdLease : IHostedService, IAsyncDisposable
{
    private const int WorkerIds = SnowflakeId.MaxWorkerId + 1;

    // Extends the key only while it still holds this owner.
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly WorkerIdLeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _owner;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    // Only the loop writes these (and StopAsync after the loop ended).
    private int _keyHeld = -1;
    private int _lastHeld = -1;
    private DateTimeOffset _usableFrom;
    private DateTimeOffset _termEnd;
    private int _issuingAs = -1;

    public RedisWorkerIdLease(
        IConnectionMultiplexer redis, IOptions<SnowflakeOptions> snowflake, IOptions<WorkerIdLeaseOptions> options,
        TimeProvider time, ILogger<RedisWorkerIdLease> logger)
    {
        _redis = redis;
        _options = options.Value;
        if (_options.Ttl <= TimeSpan.Zero || _options.RenewInterval <= TimeSpan.Zero || _options.RenewInterval >= _options.Ttl - _options.SafetyMargin)
        {
            throw new ArgumentOutOfRangeException(nameof(options),
                $"A worker id lease needs 0 < RenewInterval ({_options.RenewInterval}) < Ttl ({_options.Ttl}) - SafetyMargin ({_options.SafetyMargin}).");
        }
        _time = time;
        _logger = logger;
        _owner = _options.Owner ?? $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        Generator = new SnowflakeIdGenerator(snowflake.Value, time);
        Generator.LoseLease("no worker id lease taken yet");
    }

    /// <summary>The generator this lease drives; it refuses ids while no lease is held.</summary>
    public SnowflakeIdGenerator Generator { get; }

    /// <summary>The worker id the generator issues ids as, or null while it issues none.</summary>
    public int? WorkerId => Volatile.Read(ref _issuingAs) is >= 0 and var id ? id : null;

    /// <summary>What the lease keys of this instance hold.</summary>
    public string Owner => _owner;

    /// <summary>The Redis key of a worker id.</summary>
    public string KeyOf(int workerId) => _options.KeyPrefix + workerId;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stopping.IsCancellationRequested) await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        Lose("the instance is stopping");
        if (_keyHeld < 0) return;
        try
        {
            await _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [KeyOf(_keyHeld)], [_owner]).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Not released: it expires after one TTL instead. (Disposed: the host is being torn down after a failed start
            // and the Redis client's tracing instrumentation went first.)
            LogReleaseFailed(_logger, e, _keyHeld);
        }
        _keyHeld = -1;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await StepAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRedisFailed(_logger, e);
                // The generator refuses by itself once the term ends; this only says why, and that the lease must be renewed first.
                if (_issuingAs >= 0 && _time.GetUtcNow() >= _termEnd)
                    Lose($"Redis could not be reached to renew worker id {_issuingAs} before its term ended");
            }
            try
            {
                await Task.Delay(NextStepIn(), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private TimeSpan NextStepIn()
    {
        if (_keyHeld < 0 || _issuingAs >= 0) return _options.RenewInterval;
        // Waiting out the earlier holder of a newly taken id: renew meanwhile, and start issuing as soon as the wait is over.
        var wait = _usableFrom - _time.GetUtcNow();
        return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < _options.RenewInterval ? wait : _options.RenewInterval;
    }

    private async Task StepAsync()
    {
        var db = _redis.GetDatabase();
        var ttl = (long)_options.Ttl.TotalMilliseconds;
        if (_keyHeld >= 0)
        {
            var sent = _time.GetUtcNow();
            var renewed = (long)await db.ScriptEvaluateAsync(RenewScript, [KeyOf(_keyHeld)], [_owner, ttl]).ConfigureAwait(false) == 1;
            if (renewed)
            {
                _termEnd = sent + _options.Ttl - _options.SafetyMargin;
                if (_time.GetUtcNow() >= _usableFrom) Issue(_keyHeld);
                return;
            }
            Lose($"worker id {_keyHeld} expired or was taken over in Redis");
            LogLost(_logger, _keyHeld);
            _lastHeld = _keyHeld;
            _keyHeld = -1;
        }

        // The id held before first (its key may still be free), then the lowest free one.
        for (var i = -1; i < WorkerIds; i++)
        {
            var candidate = i < 0 ? _lastHeld : i;
            if (candidate < 0 || (i >= 0 && candidate == _lastHeld)) continue;
            var sent = _time.GetUtcNow();
            if (!await db.StringSetAsync(KeyOf(candidate), _owner, _options.Ttl, When.NotExists).ConfigureAwait(false)) continue;
            _keyHeld = candidate;
            _usableFrom = sent + _options.Ttl;
            _termEnd = sent + _options.Ttl - _options.SafetyMargin;
            LogTaken(_logger, candidate, _options.Ttl);
            return;
        }
        LogNoneFree(_logger, WorkerIds);
    }

    private void Issue(int workerId)
    {
        Generator.HoldLease(workerId, _termEnd);
        if (_issuingAs != workerId) LogIssuing(_logger, workerId);
        Volatile.Write(ref _issuingAs, workerId);
    }

    private void Lose(string reason)
    {
        Generator.LoseLease(reason);
        Volatile.Write(ref _issuingAs, -1);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Took Snowflake worker id {WorkerId}; it issues ids after {Wait} (the earlier holder's term)")]
    private static partial void LogTaken(ILogger logger, int workerId, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Information, Message = "Issuing ids as Snowflake worker {WorkerId}")]
    private static partial void LogIssuing(ILogger logger, int workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of Snowflake worker id {WorkerId}; ids are refused until a lease is held again")]
    private static partial void LogLost(ILogger logger, int workerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "All {Count} Snowflake worker ids are leased; ids are refused until one is free")]
    private static partial void LogNoneFree(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker id lease: Redis failed")]
    private static partial void LogRedisFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release Snowflake worker id {WorkerId}; it expires by itself")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, int workerId);
}
