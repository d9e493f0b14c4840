using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>
/// The distributed topology of the AppHost on its local stand-ins, with every service a child process so a test can
/// SIGKILL one: two gateways (nodes <c>gw-a</c>, <c>gw-b</c>) and two DeliveryWorkers, on librdkafka's mock cluster (in
/// this process, reached over loopback TCP like a broker), a redis-server of its own and a database of its own on the run's PostgreSQL server;
/// and the PushService when a test asks for it.
/// </summary>
public sealed class ChatTopology : IAsyncDisposable
{
    private readonly string _data;

    private ChatTopology(string data, KafkaMockCluster kafka, RedisServerProcess redis) => (_data, Kafka, Redis) = (data, kafka, redis);

    public KafkaMockCluster Kafka { get; }
    public RedisServerProcess Redis { get; }
    public List<ServiceProcess> Gateways { get; } = [];
    public List<ServiceProcess> Workers { get; } = [];
    public ServiceProcess? PushService { get; private set; }

    /// <summary>Starts the backing services, then <paramref name="gateways"/> gateways and <paramref name="workers"/> DeliveryWorkers.</summary>
    /// <param name="redisKeepsItsData">Redis with an append-only file: a kill and restart keeps presence and pending entries.</param>
    /// <param name="pushService">Also start the PushService (the consumer of <c>chat.push</c>).</param>
    public static async Task<ChatTopology> StartAsync(int gateways = 2, int workers = 2, IReadOnlyDictionary<string, string>? settings = null, bool redisKeepsItsData = false, bool pushService = false)
    {
        var data = TempDirectory.Create();
        // Redis first: without redis-server the test fails at once, before a mock cluster is left behind.
        var redis = await RedisServerProcess.StartAsync(redisKeepsItsData ? Directory.CreateDirectory(Path.Combine(data, "redis")).FullName : null);
        var kafka = new KafkaMockCluster(partitions: 4);
        var topology = new ChatTopology(data, kafka, redis);
        try
        {
            var shared = new Dictionary<string, string>
            {
                ["ConnectionStrings__kafka"] = kafka.BootstrapServers,
                // The topics' partition count, as the mock cluster has them (the log refuses another).
                ["Kafka__Partitions"] = kafka.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ConnectionStrings__redis"] = redis.ConnectionString,
                ["ConnectionStrings__postgres"] = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("topology"),
                // A killed worker's partitions move within seconds rather than the default 10 s session.
                ["Kafka__SessionTimeout"] = "00:00:03",
                ["Kafka__HeartbeatInterval"] = "00:00:01",
                ["Kafka__FetchWait"] = "00:00:00.010",
                ["Delivery__AckTimeout"] = "00:00:01",
                ["Groups__WriteDiffusionLimit"] = "3",
                // A gateway issues ids one lease TTL after it took its worker id: 2 s rather than 10 to be ready sooner.
                ["Snowflake__Lease__Ttl"] = "00:00:02",
                ["Snowflake__Lease__RenewInterval"] = "00:00:00.500",
                ["Snowflake__Lease__SafetyMargin"] = "00:00:00.200",
                // The mock cluster leaves a fetch that was in flight when a broker went down unanswered after it is up
                // again (or a worker died mid-request): a short socket timeout ends that wait.
                ["Kafka__Settings__socket.timeout.ms"] = "3000",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string>()) shared[key] = value;
            var backEnd = Enumerable.Range(0, workers).Select(i => topology.AddWorkerAsync(shared, i)).ToList();
            if (pushService) backEnd.Add(topology.AddPushServiceAsync(shared));
            await Task.WhenAll(backEnd);
            await Task.WhenAll(Enumerable.Range(0, gateways).Select(i => topology.AddGatewayAsync(shared, i)));
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private async Task AddWorkerAsync(Dictionary<string, string> shared, int index)
    {
        var worker = await ServiceProcess.StartAsync($"deliveryworker-{index}", "AspireChat.DeliveryWorker.dll", shared, _data);
        lock (Workers) Workers.Add(worker);
    }

    private async Task AddPushServiceAsync(Dictionary<string, string> shared) =>
        PushService = await ServiceProcess.StartAsync("pushservice", "AspireChat.PushService.dll", shared, _data);

    private async Task AddGatewayAsync(Dictionary<string, string> shared, int index)
    {
        var node = $"gw-{(char)('a' + index)}";
        var environment = new Dictionary<string, string>(shared)
        {
            ["Gateway__Node"] = node,
            ["Auth__DevTokens"] = "true",
            ["Auth__SigningKey"] = GatewayProcess.SigningKey,
        };
        var gateway = await ServiceProcess.StartAsync(node, "AspireChat.Gateway.dll", environment, _data);
        lock (Gateways) Gateways.Add(gateway);
        lock (Gateways) Gateways.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
    }

    public static Uri WebSocketUri(ServiceProcess gateway) => new($"ws://{gateway.Address.Authority}/ws");

    public static async Task<string> TokenAsync(ServiceProcess gateway, string user)
    {
        using var http = new HttpClient { BaseAddress = gateway.Address };
        return await DevTokens.RequestAsync(http, user);
    }

    /// <summary>A device welcomed by <paramref name="gateway"/>.</summary>
    public static async Task<TestSocket> ConnectAsync(ServiceProcess gateway, string user, string device = "d1", long? cursor = null)
    {
        var socket = await TestSocket.OpenAsync(WebSocketUri(gateway));
        await socket.HelloAsync(await TokenAsync(gateway, user), device, cursor);
        return socket;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Gateways.Concat(Workers)) await service.DisposeAsync();
        if (PushService is not null) await PushService.DisposeAsync();
        await Redis.DisposeAsync();
        Kafka.Dispose();
    }
}
