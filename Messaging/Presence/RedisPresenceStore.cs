using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Messaging.Presence;

/// <summary>
/// Presence in Redis, shared by every gateway node (docs/configuration.md, decision 0006).
/// <list type="bullet">
/// <item>A node is alive while its key <c>presence:n:{node}</c> exists: each heartbeat sets it with a TTL of
/// <see cref="PresenceOptions.NodeTtl"/>, so liveness runs on Redis' clock. The key holds the node's current <em>life</em>,
/// a number that is new each time the node comes back after expiring.</item>
/// <item>A user's devices are a hash <c>presence:u:{user}</c>: device → node, life, connected-since. A device is online while
/// its node is alive in the same life; devices of an ended life read as offline, last seen at that life's last heartbeat
/// (kept in the sorted set <c>presence:lives</c>), and never come back by themselves — the node's next heartbeat answers
/// false and it registers its devices again.</item>
/// <item>Heartbeats sweep ended lives: each life keeps the set of devices registered under it, so their entries are removed
/// from the users' hashes and their last-seen times kept.</item>
/// </list>
/// Every multi-key step is one Lua script over keys of one hash tag (a user's or a node's), so it is atomic and works
/// on a Redis cluster too; steps across tags are pipelined. Times written (since, last seen, heartbeats) come from the
/// <see cref="TimeProvider"/>.
/// </summary>
public sealed class RedisPresenceStore(IConnectionMultiplexer redis, TimeProvider time, IOptions<PresenceOptions> options, string keyPrefix = "presence") : IPresenceStore
{
    private const char Separator = '\u001f';

    // KEYS: node key, life counter. ARGV: ttl ms. Returns {held, life}: held is 1 only when the node was alive and its life
    // was confirmed by a heartbeat before (a life started by a connect may have lost devices registered before it).
    private const string HeartbeatScript = """
        local v = redis.call('GET', KEYS[1])
        local life
        local held = 0
        if v then
          life = string.sub(v, 3)
          if string.sub(v, 1, 1) == 'b' then held = 1 end
        else
          life = string.format('%d', redis.call('INCR', KEYS[2]))
        end
        redis.call('SET', KEYS[1], 'b:' .. life, 'PX', ARGV[1])
        return {held, life}
        """;

    // KEYS: node key, life counter, prefix of a life's device set. ARGV: ttl ms, "user␟device". A connect proves the node
    // alive: it extends the node's life, or starts one. Returns {started, life}.
    private const string ConnectNodeScript = """
        local v = redis.call('GET', KEYS[1])
        local life
        local started = 0
        if v then
          life = string.sub(v, 3)
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
        else
          life = string.format('%d', redis.call('INCR', KEYS[2]))
          redis.call('SET', KEYS[1], 'c:' .. life, 'PX', ARGV[1])
          started = 1
        end
        redis.call('SADD', KEYS[3] .. life, ARGV[2])
        return {started, life}
        """;

    // KEYS: user's devices. ARGV: device, node, life, now. A node registering a device again keeps its connected-since time.
    private const string ConnectUserScript = """
        local since = ARGV[4]
        local cur = redis.call('HGET', KEYS[1], ARGV[1])
        if cur then
          local node, life, s = string.match(cur, '^(.*)\31(%d+)\31(%d+)$')
          if node == ARGV[2] then since = s end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\31' .. ARGV[3] .. '\31' .. since)
        return 1
        """;

    // KEYS: user's devices, user's last seen. ARGV: device, node, now. Removes the device only if it is still on that node;
    // returns the life it was registered under, or false.
    private const string DisconnectScript = """
        local cur = redis.call('HGET', KEYS[1], ARGV[1])
        if not cur then return false end
        local node, life = string.match(cur, '^(.*)\31(%d+)\31%d+$')
        if node ~= ARGV[2] then return false end
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('SET', KEYS[2], ARGV[3])
        return life
        """;

    // KEYS: user's devices, user's last seen. ARGV: device, node, life, the life's last heartbeat. Drops the device only if it
    // is still registered under that (ended) life; last seen moves forward to the life's last heartbeat.
    private const string DropScript = """
        local cur = redis.call('HGET', KEYS[1], ARGV[1])
        if not cur then return 0 end
        local node, life = string.match(cur, '^(.*)\31(%d+)\31%d+$')
        if node ~= ARGV[2] or life ~= ARGV[3] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[1])
        local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
        if tonumber(ARGV[4]) > seen then redis.call('SET', KEYS[2], ARGV[4]) end
        return 1
        """;

    private readonly long _ttl = (long)options.Value.NodeTtl.TotalMilliseconds;
    private readonly RedisKey _lives = $"{keyPrefix}:lives";

    public async ValueTask<bool> HeartbeatAsync(string node, CancellationToken cancellationToken = default)
    {
        var db = redis.GetDatabase();
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(HeartbeatScript, [NodeKey(node), LifeCounterKey(node)], [_ttl]).ConfigureAwait(false))!;
        var held = (long)result[0] == 1;
        await db.SortedSetAddAsync(_lives, LifeMember(node, (string)result[1]!), Now).ConfigureAwait(false);
        await SweepAsync(db).ConfigureAwait(false);
        return held;
    }

    public async ValueTask ConnectAsync(string user, string device, string node, CancellationToken cancellationToken = default)
    {
        var db = redis.GetDatabase();
        var now = Now;
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(ConnectNodeScript,
            [NodeKey(node), LifeCounterKey(node), LifeDevicesPrefix(node)], [_ttl, Member(user, device)]).ConfigureAwait(false))!;
        var life = (string)result[1]!;
        var registered = db.ScriptEvaluateAsync(ConnectUserScript, [DevicesKey(user)], [device, node, life, now]);
        // A life a connect started counts from now, until the node's heartbeats take over.
        if ((long)result[0] == 1) await db.SortedSetAddAsync(_lives, LifeMember(node, life), now).ConfigureAwait(false);
        await registered.ConfigureAwait(false);
    }

    public async ValueTask DisconnectAsync(string user, string device, string node, CancellationToken cancellationToken = default)
    {
        var db = redis.GetDatabase();
        var life = await db.ScriptEvaluateAsync(DisconnectScript, [DevicesKey(user), SeenKey(user)], [device, node, Now]).ConfigureAwait(false);
        // The life's device set only guides the sweep, whose drop checks the entry itself: a stale member costs nothing.
        if (!life.IsNull) db.SetRemove(LifeDevicesPrefix(node).Append((string)life!), Member(user, device), CommandFlags.FireAndForget);
    }

    public async ValueTask<IReadOnlyList<DevicePresence>> GetDevicesAsync(string user, CancellationToken cancellationToken = default)
    {
        var db = redis.GetDatabase();
        var entries = Parse(user, await db.HashGetAllAsync(DevicesKey(user)).ConfigureAwait(false));
        if (entries.Count == 0) return [];
        var lives = await LivesOfAsync(db, entries).ConfigureAwait(false);
        var online = new List<DevicePresence>(entries.Count);
        foreach (var e in entries)
        {
            if (lives.GetValueOrDefault(e.Node) == e.Life) online.Add(new DevicePresence(user, e.Device, e.Node, e.Since));
        }
        return online;
    }

    public async ValueTask<IReadOnlyList<UserPresence>> GetPresenceAsync(IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var db = redis.GetDatabase();
        var now = Now;
        var hashes = new Task<HashEntry[]>[users.Count];
        var seen = new Task<RedisValue>[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            hashes[i] = db.HashGetAllAsync(DevicesKey(users[i]));
            seen[i] = db.StringGetAsync(SeenKey(users[i]));
        }
        await Task.WhenAll(hashes).ConfigureAwait(false);
        var entries = new List<Entry>[users.Count];
        var all = new List<Entry>();
        for (var i = 0; i < users.Count; i++)
        {
            entries[i] = Parse(users[i], hashes[i].Result);
            all.AddRange(entries[i]);
        }
        var lives = await LivesOfAsync(db, all).ConfigureAwait(false);

        // Ended lives not swept yet: their last heartbeat is when their devices were last seen.
        var ended = new Dictionary<(string Node, string Life), Task<double?>>();
        foreach (var e in all)
        {
            if (lives.GetValueOrDefault(e.Node) != e.Life && !ended.ContainsKey((e.Node, e.Life)))
                ended[(e.Node, e.Life)] = db.SortedSetScoreAsync(_lives, LifeMember(e.Node, e.Life));
        }
        await Task.WhenAll(seen).ConfigureAwait(false);
        await Task.WhenAll(ended.Values).ConfigureAwait(false);

        var result = new UserPresence[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            var devices = new List<string>();
            long? lastSeen = seen[i].Result.IsNull ? null : (long)seen[i].Result;
            foreach (var e in entries[i])
            {
                if (lives.GetValueOrDefault(e.Node) == e.Life) devices.Add(e.Device);
                else if (ended[(e.Node, e.Life)].Result is { } beat) lastSeen = Math.Max(lastSeen ?? 0, (long)beat);
            }
            devices.Sort(StringComparer.Ordinal);
            var online = devices.Count > 0;
            result[i] = new UserPresence(users[i], online, devices, online ? now : lastSeen);
        }
        return result;
    }

    // Drops the devices of every ended life from their users, keeping each user's last seen; then forgets the life.
    private async Task SweepAsync(IDatabase db)
    {
        var members = await db.SortedSetRangeByRankWithScoresAsync(_lives).ConfigureAwait(false);
        if (members.Length == 0) return;
        var parsed = new (string Node, string Life, long Beat)[members.Length];
        var current = new Task<RedisValue>[members.Length];
        for (var i = 0; i < members.Length; i++)
        {
            var member = (string)members[i].Element!;
            var cut = member.LastIndexOf(Separator);
            parsed[i] = (member[..cut], member[(cut + 1)..], (long)members[i].Score);
            current[i] = db.StringGetAsync(NodeKey(parsed[i].Node));
        }
        await Task.WhenAll(current).ConfigureAwait(false);
        for (var i = 0; i < members.Length; i++)
        {
            var (node, life, beat) = parsed[i];
            if (LifeOf(current[i].Result) == life) continue;
            var setKey = LifeDevicesPrefix(node).Append(life);
            var devices = await db.SetMembersAsync(setKey).ConfigureAwait(false);
            var drops = new Task[devices.Length];
            for (var d = 0; d < devices.Length; d++)
            {
                var member = (string)devices[d]!;
                // User ids cannot hold the separator (docs/protocol.md §2); a device name may.
                var cut = member.IndexOf(Separator);
                var (user, device) = (member[..cut], member[(cut + 1)..]);
                drops[d] = db.ScriptEvaluateAsync(DropScript, [DevicesKey(user), SeenKey(user)], [device, node, life, beat]);
            }
            await Task.WhenAll(drops).ConfigureAwait(false);
            await db.KeyDeleteAsync(setKey).ConfigureAwait(false);
            await db.SortedSetRemoveAsync(_lives, members[i].Element).ConfigureAwait(false);
        }
    }

    // The current life of each node the entries name (absent: the node is not alive).
    private async Task<Dictionary<string, string>> LivesOfAsync(IDatabase db, List<Entry> entries)
    {
        var lookups = new Dictionary<string, Task<RedisValue>>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!lookups.ContainsKey(e.Node)) lookups[e.Node] = db.StringGetAsync(NodeKey(e.Node));
        }
        await Task.WhenAll(lookups.Values).ConfigureAwait(false);
        var lives = new Dictionary<string, string>(lookups.Count, StringComparer.Ordinal);
        foreach (var (node, lookup) in lookups)
        {
            if (LifeOf(lookup.Result) is { } life) lives[node] = life;
        }
        return lives;
    }

    private static string? LifeOf(RedisValue nodeValue) => nodeValue.IsNull ? null : ((string)nodeValue!)[2..];

    private readonly record struct Entry(string Device, string Node, string Life, long Since);

    private static List<Entry> Parse(string user, HashEntry[] hash)
    {
        var entries = new List<Entry>(hash.Length);
        foreach (var field in hash)
        {
            var value = (string)field.Value!;
            var second = value.LastIndexOf(Separator);
            var first = value.LastIndexOf(Separator, second - 1);
            entries.Add(new Entry((string)field.Name!, value[..first], value[(first + 1)..second],
                long.Parse(value.AsSpan(second + 1), CultureInfo.InvariantCulture)));
        }
        return entries;
    }

    private RedisKey DevicesKey(string user) => $"{keyPrefix}:u:{{{user}}}";
    private RedisKey SeenKey(string user) => $"{keyPrefix}:u:{{{user}}}:seen";
    private RedisKey NodeKey(string node) => $"{keyPrefix}:n:{{{node}}}";
    private RedisKey LifeCounterKey(string node) => $"{keyPrefix}:n:{{{node}}}:lives";
    private RedisKey LifeDevicesPrefix(string node) => $"{keyPrefix}:n:{{{node}}}:l:";
    private static string LifeMember(string node, string life) => $"{node}{Separator}{life}";
    private static string Member(string user, string device) => $"{user}{Separator}{device}";

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
