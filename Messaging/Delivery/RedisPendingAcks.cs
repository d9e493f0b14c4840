using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Messaging.Delivery;

/// <summary><c>Delivery:Redis:*</c> settings of <see cref="RedisPendingAcks"/>.</summary>
public sealed class RedisPendingAcksOptions
{
    /// <summary>Shards the devices are spread over (by a hash of the user); every instance must use the same number.</summary>
    public int Shards { get; set; } = 16;

    /// <summary>The shards whose due entries this instance's retry loop takes; empty: all of them.</summary>
    public IList<int> OwnedShards { get; set; } = [];

    /// <summary>How old the cached <see cref="RedisPendingAcks.Count"/> may get before a read of it refreshes it.</summary>
    public TimeSpan CountRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A device's pending state untouched this long is dropped by Redis (its gateway died without forgetting it).</summary>
    public TimeSpan DeviceIdleTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Prefix of every key.</summary>
    public string KeyPrefix { get; set; } = "pending";
}

/// <summary>
/// Pending acks in Redis, with the semantics of <see cref="InMemoryPendingAcks"/>. Devices are spread over shards by a hash
/// of the user; the keys of one shard share a hash tag, so each operation is one atomic Lua script (and a cluster keeps a
/// shard on one node):
/// <list type="bullet">
/// <item><c>pending:{sN}:dev:user␟device</c> — hash: <c>c</c> = the last claimed <c>seq</c>, and the attempt count of each re-pushed entry;</item>
/// <item><c>pending:{sN}:seqs:user␟device</c> — sorted set of the pending <c>seq</c>s, so a cumulative ack removes a range;</item>
/// <item><c>pending:{sN}:due</c> — sorted set of the shard's pending entries by deadline, so the retry loop finds due entries
/// without looking at any device (and an instance takes only the shards it owns, <see cref="RedisPendingAcksOptions.OwnedShards"/>);</item>
/// <item><c>pending:{sN}:count</c> — how many entries the shard holds, kept by the same scripts.</item>
/// </list>
/// <see cref="Count"/> is the sum of the shard counters as last read: a cached value, refreshed in the background when a read
/// finds it older than <see cref="RedisPendingAcksOptions.CountRefreshInterval"/> (a metric may lag by that much).
/// </summary>
public sealed class RedisPendingAcks : IPendingAcks
{
    private const char Separator = '\u001f';

    // Every script: KEYS = device hash, device seqs, shard due, shard count.

    // ARGV: seq, window, deadline, due member, idle ttl ms.
    private const string ClaimScript = """
        local c = redis.call('HGET', KEYS[1], 'c')
        if not c then return 0 end
        if tonumber(ARGV[1]) ~= tonumber(c) + 1 then return 0 end
        if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('HSET', KEYS[1], 'c', ARGV[1])
        redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
        redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
        redis.call('INCR', KEYS[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        return 1
        """;

    // ARGV: head, window, deadline, due member prefix ("user␟device␟"), idle ttl ms. Returns {from, to} or false.
    private const string ClaimRangeScript = """
        local c = redis.call('HGET', KEYS[1], 'c')
        if not c then return false end
        c = tonumber(c)
        local head = tonumber(ARGV[1])
        local room = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[2])
        if room <= 0 or c >= head then return false end
        local from = c + 1
        local to = math.min(head, c + room)
        local unpack = table.unpack or unpack
        -- Variadic ZADDs, in chunks that stay within Lua's limit on unpacked arguments.
        for chunk = from, to, 500 do
          local seqs, due = {}, {}
          for s = chunk, math.min(to, chunk + 499) do
            local v = string.format('%d', s)
            seqs[#seqs + 1] = v
            seqs[#seqs + 1] = v
            due[#due + 1] = ARGV[3]
            due[#due + 1] = ARGV[4] .. v
          end
          redis.call('ZADD', KEYS[2], unpack(seqs))
          redis.call('ZADD', KEYS[3], unpack(due))
        end
        redis.call('INCRBY', KEYS[4], to - from + 1)
        redis.call('HSET', KEYS[1], 'c', string.format('%d', to))
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        return {string.format('%d', from), string.format('%d', to)}
        """;

    // ARGV: seq, due member prefix, idle ttl ms. Clears every pending entry ≤ seq; entries up to seq count as claimed.
    private const string AckScript = """
        local c = redis.call('HGET', KEYS[1], 'c')
        if not c then return 0 end
        local acked = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
        local unpack = table.unpack or unpack
        for chunk = 1, #acked, 1000 do
          local due, fields = {}, {}
          for i = chunk, math.min(#acked, chunk + 999) do
            due[#due + 1] = ARGV[2] .. acked[i]
            fields[#fields + 1] = acked[i]
          end
          redis.call('ZREM', KEYS[3], unpack(due))
          -- The attempt counts of re-pushed entries.
          redis.call('HDEL', KEYS[1], unpack(fields))
        end
        if #acked > 0 then
          redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
          redis.call('DECRBY', KEYS[4], #acked)
        end
        if tonumber(ARGV[1]) > tonumber(c) then redis.call('HSET', KEYS[1], 'c', ARGV[1]) end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return #acked
        """;

    // ARGV: cursor (empty: forget the device), due member prefix, idle ttl ms.
    private const string ResetScript = """
        local old = redis.call('ZRANGE', KEYS[2], 0, -1)
        local unpack = table.unpack or unpack
        for chunk = 1, #old, 1000 do
          local due = {}
          for i = chunk, math.min(#old, chunk + 999) do due[#due + 1] = ARGV[2] .. old[i] end
          redis.call('ZREM', KEYS[3], unpack(due))
        end
        if #old > 0 then redis.call('DECRBY', KEYS[4], #old) end
        redis.call('DEL', KEYS[1], KEYS[2])
        if ARGV[1] ~= '' then
          redis.call('HSET', KEYS[1], 'c', ARGV[1])
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
        end
        return #old
        """;

    // KEYS: shard due, shard count. ARGV: now, max, shard key prefix, max attempts, then the deadline of attempt 1, 2, ….
    // Returns {member, attempt, …} of the entries re-deadlined; drops those past max attempts (or of a device no longer tracked).
    private const string TakeExpiredScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        local maxAttempts = tonumber(ARGV[4])
        local out = {}
        for i = 1, #due do
          local m = due[i]
          local ident, seq = string.match(m, '^(.*)\31(%d+)$')
          local dev = ARGV[3] .. 'dev:' .. ident
          local attempt = tonumber(redis.call('HGET', dev, seq) or '0') + 1
          if attempt > maxAttempts or redis.call('HEXISTS', dev, 'c') == 0 then
            redis.call('ZREM', KEYS[1], m)
            redis.call('ZREM', ARGV[3] .. 'seqs:' .. ident, seq)
            redis.call('HDEL', dev, seq)
            redis.call('DECR', KEYS[2])
          else
            redis.call('HSET', dev, seq, string.format('%d', attempt))
            redis.call('ZADD', KEYS[1], ARGV[4 + attempt], m)
            out[#out + 1] = m
            out[#out + 1] = string.format('%d', attempt)
          end
        end
        return out
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisPendingAcksOptions _options;
    private readonly int[] _owned;
    private readonly long _idleTtl;
    private long _count;
    private long _countReadAt = long.MinValue / 2;
    private int _refreshing;
    private int _nextShard;

    public RedisPendingAcks(IConnectionMultiplexer redis, IOptions<RedisPendingAcksOptions> options)
    {
        _redis = redis;
        _options = options.Value;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Shards, 1, $"{nameof(options)}.{nameof(RedisPendingAcksOptions.Shards)}");
        if (_options.OwnedShards.Any(s => s < 0 || s >= _options.Shards))
            throw new ArgumentOutOfRangeException(nameof(options), $"Owned shards must be within 0..{_options.Shards - 1}.");
        _owned = _options.OwnedShards.Count == 0 ? [.. Enumerable.Range(0, _options.Shards)] : [.. _options.OwnedShards.Distinct().Order()];
        _idleTtl = (long)_options.DeviceIdleTtl.TotalMilliseconds;
    }

    /// <summary>The shard a user's devices live in: the same on every instance.</summary>
    public int ShardOf(string user) => (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(user)) % (uint)_options.Shards);

    /// <summary>Pending entries over all shards, as last read from Redis (see the class summary).</summary>
    public long Count
    {
        get
        {
            if (Environment.TickCount64 - Volatile.Read(ref _countReadAt) >= (long)_options.CountRefreshInterval.TotalMilliseconds
                && Interlocked.Exchange(ref _refreshing, 1) == 0)
            {
                _ = RefreshInBackgroundAsync();
            }
            return Volatile.Read(ref _count);
        }
    }

    /// <summary>Reads the shard counters now and returns their sum (<see cref="Count"/> then answers it).</summary>
    public async Task<long> RefreshCountAsync()
    {
        var db = _redis.GetDatabase();
        var reads = new Task<RedisValue>[_options.Shards];
        for (var s = 0; s < reads.Length; s++) reads[s] = db.StringGetAsync(ShardKey(s, "count"));
        await Task.WhenAll(reads).ConfigureAwait(false);
        var sum = reads.Sum(r => r.Result.IsNull ? 0L : (long)r.Result);
        Volatile.Write(ref _count, sum);
        Volatile.Write(ref _countReadAt, Environment.TickCount64);
        return sum;
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await RefreshCountAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Keep the last value; the next read tries again.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    public async ValueTask ResetAsync(string user, string device, long cursor, CancellationToken cancellationToken = default) =>
        await Run(ResetScript, user, device, Num(cursor), Prefix(user, device), _idleTtl).ConfigureAwait(false);

    public async ValueTask ForgetAsync(string user, string device, CancellationToken cancellationToken = default) =>
        await Run(ResetScript, user, device, "", Prefix(user, device), _idleTtl).ConfigureAwait(false);

    public async ValueTask<bool> TryClaimAsync(string user, string device, long seq, int window, long deadline, CancellationToken cancellationToken = default) =>
        (long)await Run(ClaimScript, user, device, Num(seq), window, Num(deadline), Prefix(user, device) + Num(seq), _idleTtl).ConfigureAwait(false) == 1;

    public async ValueTask<(long From, long To)?> ClaimRangeAsync(string user, string device, long head, int window, long deadline, CancellationToken cancellationToken = default)
    {
        var result = await Run(ClaimRangeScript, user, device, Num(head), window, Num(deadline), Prefix(user, device), _idleTtl).ConfigureAwait(false);
        if (result.IsNull) return null;
        var range = (RedisResult[])result!;
        return (Parse(range[0]), Parse(range[1]));
    }

    public async ValueTask AckAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        await Run(AckScript, user, device, Num(seq), Prefix(user, device), _idleTtl).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<PendingDelivery>> TakeExpiredAsync(long now, int maxAttempts, Func<int, long> nextDeadline, int max, CancellationToken cancellationToken = default)
    {
        if (max <= 0) return [];
        var args = new RedisValue[4 + Math.Max(maxAttempts, 0)];
        args[0] = Num(now);
        args[3] = maxAttempts;
        for (var attempt = 1; attempt <= maxAttempts; attempt++) args[3 + attempt] = Num(nextDeadline(attempt));

        // One script per owned shard, pipelined; each takes its share of max, so the total stays within it. A shard with
        // more due than its share gives the rest on the next call; the first shard turns, so none is always last.
        var share = Math.Max(1, max / _owned.Length);
        var start = (int)((uint)Interlocked.Increment(ref _nextShard) % (uint)_owned.Length);
        var db = _redis.GetDatabase();
        var calls = new Task<RedisResult>[Math.Min(_owned.Length, max)];
        for (var i = 0; i < calls.Length; i++)
        {
            var shard = _owned[(start + i) % _owned.Length];
            var shardArgs = (RedisValue[])args.Clone();
            shardArgs[1] = share;
            shardArgs[2] = ShardPrefix(shard);
            calls[i] = db.ScriptEvaluateAsync(TakeExpiredScript, [ShardKey(shard, "due"), ShardKey(shard, "count")], shardArgs);
        }
        await Task.WhenAll(calls).ConfigureAwait(false);

        var expired = new List<PendingDelivery>();
        foreach (var call in calls)
        {
            var items = (RedisResult[])call.Result!;
            for (var i = 0; i < items.Length; i += 2)
            {
                var member = (string)items[i]!;
                var first = member.IndexOf(Separator);
                var last = member.LastIndexOf(Separator);
                expired.Add(new PendingDelivery(member[..first], member[(first + 1)..last],
                    long.Parse(member.AsSpan(last + 1), CultureInfo.InvariantCulture), (int)Parse(items[i + 1])));
            }
        }
        return expired;
    }

    private Task<RedisResult> Run(string script, string user, string device, params RedisValue[] args)
    {
        var shard = ShardOf(user);
        var ident = $"{user}{Separator}{device}";
        RedisKey[] keys =
        [
            $"{ShardPrefix(shard)}dev:{ident}", $"{ShardPrefix(shard)}seqs:{ident}", ShardKey(shard, "due"), ShardKey(shard, "count"),
        ];
        return _redis.GetDatabase().ScriptEvaluateAsync(script, keys, args);
    }

    // User ids cannot hold the separator (docs/protocol.md §2), and the seq after the last one is a number: the device between may be anything.
    private static string Prefix(string user, string device) => $"{user}{Separator}{device}{Separator}";

    private string ShardPrefix(int shard) => $"{_options.KeyPrefix}:{{s{shard}}}:";

    private RedisKey ShardKey(int shard, string name) => ShardPrefix(shard) + name;

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static long Parse(RedisResult value) => long.Parse((string)value!, CultureInfo.InvariantCulture);
}
