using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AspireChat.Bench.Measuring;
using AspireChat.Bench.Reporting;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Presence;
using Garnet;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the Redis adapters workload.</summary>
public sealed record RedisOptions(IReadOnlyList<int> Callers, TimeSpan Duration);

/// <summary>
/// Latency and throughput of the Redis presence and pending-ack adapters' operations, against Garnet in this process and a
/// <c>redis-server</c> child process, each on a loopback port of its own. Every operation runs for the set duration with
/// 1 caller (one call at a time: its latency) and with more callers at once (StackExchange.Redis pipelines them on one
/// connection: throughput). Garnet shares this process's cores with the callers; redis-server is a process of its own.
/// </summary>
public static class RedisWorkload
{
    private const int Users = 1_000;
    private const int Nodes = 4;

    private sealed record Operation(string Name, Func<int, long, Task> Call);

    public static async Task<BenchResult> RunAsync(BenchContext context, RedisOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("redis");

        var garnetPort = FreePort();
        using (var garnet = new GarnetServer(["--port", garnetPort.ToString(), "--bind", "127.0.0.1", "--lua", "--logger-level", "Warning"]))
        {
            garnet.Start();
            await MeasureServerAsync(context, result, "Garnet (in-process)", garnetPort, options, cancellationToken);
        }

        var redisPort = FreePort();
        Process? redisServer = null;
        try
        {
            var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { "--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) start.ArgumentList.Add(arg);
            redisServer = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            result.Notes.Add($"redis-server: not measured, it could not be started ({e.Message}); install the Debian package redis-server");
        }
        if (redisServer is not null)
        {
            try
            {
                var version = await MeasureServerAsync(context, result, "redis-server", redisPort, options, cancellationToken);
                result.Notes.Add($"redis-server {version}, started by Bench without persistence.");
            }
            finally
            {
                redisServer.Kill();
                await redisServer.WaitForExitAsync(CancellationToken.None);
            }
        }
        result.Notes.Add("Latencies are per call, in µs, measured around each await; 'ops/s' is calls completed per second by all callers together.");
        result.Notes.Add($"Data: {Users:N0} users with two devices each over {Nodes} gateway nodes; pending acks over 16 shards, one device per caller.");
        return result;
    }

    // Returns the server's version.
    private static async Task<string> MeasureServerAsync(BenchContext context, BenchResult result, string system, int port, RedisOptions options, CancellationToken cancellationToken)
    {
        var config = ConfigurationOptions.Parse($"127.0.0.1:{port},abortConnect=false,connectTimeout=5000");
        config.BacklogPolicy = BacklogPolicy.FailFast;
        await using var redis = await ConnectAsync(config, cancellationToken);
        var version = redis.GetServer(redis.GetEndPoints()[0]).Version.ToString();
        foreach (var callers in options.Callers)
        {
            var run = Guid.NewGuid().ToString("n")[..8];
            var operations = await PrepareAsync(redis, run, callers);
            var phase = new PhaseResult { System = system, Phase = $"{callers} caller(s)", Clients = callers, Seconds = options.Duration.TotalSeconds * operations.Count };
            foreach (var operation in operations)
            {
                cancellationToken.ThrowIfCancellationRequested();
                context.View.Say($"redis: {system}, {callers} caller(s), {operation.Name}");
                var (perSecond, latency) = await MeasureAsync(operation.Call, callers, options.Duration, cancellationToken);
                phase.Figures[$"{operation.Name}: ops/s"] = Math.Round(perSecond);
                phase.Figures[$"{operation.Name}: p50 µs"] = Math.Round(latency.PercentileMs(50) * 1000);
                phase.Figures[$"{operation.Name}: p99 µs"] = Math.Round(latency.PercentileMs(99) * 1000);
            }
            result.Phases.Add(phase);
        }
        return version;
    }

    private static async Task<List<Operation>> PrepareAsync(IConnectionMultiplexer redis, string run, int callers)
    {
        var presence = new RedisPresenceStore(redis, TimeProvider.System, Options.Create(new PresenceOptions()), $"bench-{run}:presence");
        var pending = new RedisPendingAcks(redis, Options.Create(new RedisPendingAcksOptions { KeyPrefix = $"bench-{run}:pending" }));
        var users = Enumerable.Range(0, Users).Select(i => $"user{i}.{run}").ToArray();
        for (var n = 0; n < Nodes; n++) await presence.HeartbeatAsync(NodeOf(n));
        await Task.WhenAll(users.Select(async (user, i) =>
        {
            await presence.ConnectAsync(user, "phone", NodeOf(i));
            await presence.ConnectAsync(user, "laptop", NodeOf(i + 1));
        }));
        var claimed = new long[callers];
        var acked = new long[callers];
        for (var c = 0; c < callers; c++) await pending.ResetAsync(DeviceUser(c), "bench", 0);
        const long later = long.MaxValue / 4;

        string UserOf(int caller, long i) => users[(int)((caller * 7919 + i) % Users)];
        string DeviceUser(int caller) => $"acker{caller}.{run}";
        return
        [
            new("presence heartbeat", (c, _) => presence.HeartbeatAsync(NodeOf(c)).AsTask()),
            new("presence connect", (c, i) => presence.ConnectAsync(UserOf(c, i), "tablet", NodeOf(c)).AsTask()),
            new("presence get devices", (c, i) => presence.GetDevicesAsync(UserOf(c, i)).AsTask()),
            new("presence of 10 users", (c, i) => presence.GetPresenceAsync([.. Enumerable.Range(0, 10).Select(k => UserOf(c, i + k * 31))]).AsTask()),
            new("presence disconnect", (c, i) => presence.DisconnectAsync(UserOf(c, i), "tablet", NodeOf(c)).AsTask()),
            new("pending claim", (c, _) => pending.TryClaimAsync(DeviceUser(c), "bench", ++claimed[c], int.MaxValue, later).AsTask()),
            new("pending ack", (c, _) => pending.AckAsync(DeviceUser(c), "bench", ++acked[c]).AsTask()),
            new("pending claim range of 100", (c, _) => pending.ClaimRangeAsync(DeviceUser(c), "bench", (claimed[c] += 100), int.MaxValue, later).AsTask()),
            new("pending take expired, none due", (_, _) => pending.TakeExpiredAsync(0, 5, a => later, 10_000).AsTask()),
        ];
    }

    private static string NodeOf(int i) => $"gw{i % Nodes}";

    private static async Task<(double PerSecond, LatencyRecorder Latency)> MeasureAsync(Func<int, long, Task> call, int callers, TimeSpan duration, CancellationToken cancellationToken)
    {
        // Warm up the scripts' cache and the connection, unmeasured.
        for (var c = 0; c < callers; c++)
            for (var i = 0; i < 20; i++) await call(c, 1_000_000 + i);

        var latency = new LatencyRecorder();
        long done = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            for (long i = 0; Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await call(c, i).ConfigureAwait(false);
                latency.Record(t0, Stopwatch.GetTimestamp());
                Interlocked.Increment(ref done);
            }
        }, cancellationToken)));
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return (done / seconds, latency);
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions config, CancellationToken cancellationToken)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(config);
        var clock = Stopwatch.StartNew();
        while (!redis.IsConnected)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"no Redis server answered on {config}");
            await Task.Delay(20, cancellationToken);
        }
        return redis;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
