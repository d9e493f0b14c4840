using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace AspireChat.Messaging.Log;

/// <summary>
/// The Kafka protocol without a broker: librdkafka's mock cluster, in this process's memory, listening on loopback
/// ports that any Kafka client (other processes too) can use — idempotent producers, consumer groups, commits and
/// rebalances work. Memory only; each partition is trimmed past about 5 MiB; the admin API does not work, so topics
/// are created here. For tests and the local stand-in topology, never production.
/// </summary>
public sealed class KafkaMockCluster : IDisposable
{
    private readonly Lock _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    /// <param name="partitions">Partitions of each topic created by name only.</param>
    /// <param name="topics">Topics to create at once; default the three of the pipeline (<see cref="LogTopics"/>).</param>
    /// <param name="brokers">Brokers of the cluster (ids 1 … n).</param>
    public KafkaMockCluster(int partitions = 12, IEnumerable<string>? topics = null, int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        Partitions = partitions;
        Native.EnsureResolved();

        // The cluster lives inside a librdkafka handle of its own; a producer handle with no brokers is the lightest.
        var errors = new byte[512];
        _handle = Native.rd_kafka_new(0, Native.rd_kafka_conf_new(), errors, (UIntPtr)errors.Length);
        if (_handle == IntPtr.Zero)
            throw new InvalidOperationException($"librdkafka refused a handle for the mock cluster: {System.Text.Encoding.UTF8.GetString(errors).TrimEnd('\0')}");
        _cluster = Native.rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            Native.rd_kafka_destroy(_handle);
            throw new InvalidOperationException("librdkafka could not start a mock cluster");
        }
        BootstrapServers = Marshal.PtrToStringUTF8(Native.rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("the mock cluster has no bootstrap address");
        // A group's first join otherwise waits 3 s for more members, as a broker's group.initial.rebalance.delay.ms does.
        Native.rd_kafka_mock_group_initial_rebalance_delay_ms(_cluster, 100);
        foreach (var topic in topics ?? [LogTopics.Accepted.Name, LogTopics.Inbox.Name, LogTopics.Push.Name]) CreateTopic(topic);
    }

    /// <summary><c>host:port[,…]</c> of the brokers, for <c>bootstrap.servers</c> or <c>ConnectionStrings:kafka</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Partitions of the topics created without a count.</summary>
    public int Partitions { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions (default <see cref="Partitions"/>); an existing topic stays as it is.</summary>
    public void CreateTopic(string topic, int? partitions = null)
    {
        lock (_gate)
        {
            var error = (ErrorCode)Native.rd_kafka_mock_topic_create(Cluster, topic, partitions ?? Partitions, 1);
            if (error is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
                throw new InvalidOperationException($"the mock cluster refused topic {topic}: {error}");
        }
    }

    /// <summary>
    /// Makes the cluster answer the next requests of <paramref name="api"/> (from any client) with <paramref name="errors"/>,
    /// one request each, in order: a fault injected where a real broker would answer it (a fenced member, a producer's
    /// lost sequence).
    /// </summary>
    public void PushRequestErrors(KafkaApi api, params ErrorCode[] errors)
    {
        lock (_gate) Native.rd_kafka_mock_push_request_errors_array(Cluster, (short)api, (UIntPtr)errors.Length, [.. errors.Select(e => (int)e)]);
    }

    /// <summary>Takes broker <paramref name="brokerId"/> down: its connections close and new ones are refused until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId = 1) => Check(Native.rd_kafka_mock_broker_set_down(Cluster, brokerId), "set_down");

    public void SetBrokerUp(int brokerId = 1) => Check(Native.rd_kafka_mock_broker_set_up(Cluster, brokerId), "set_up");

    /// <summary>
    /// The address broker <paramref name="brokerId"/> advertises in metadata (it keeps listening where it does): for a
    /// relay or proxy in front of it, whose address is the one clients can reach.
    /// </summary>
    public void SetBrokerAddress(int brokerId, string host, int port)
    {
        lock (_gate) Native.rd_kafka_mock_broker_set_host_port(Cluster, brokerId, host, port);
    }

    private IntPtr Cluster => _cluster != IntPtr.Zero ? _cluster : throw new ObjectDisposedException(nameof(KafkaMockCluster));

    private static void Check(int error, string what)
    {
        if ((ErrorCode)error != ErrorCode.NoError) throw new InvalidOperationException($"mock cluster {what}: {(ErrorCode)error}");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != IntPtr.Zero) Native.rd_kafka_mock_cluster_destroy(_cluster);
            if (_handle != IntPtr.Zero) Native.rd_kafka_destroy(_handle);
            (_cluster, _handle) = (IntPtr.Zero, IntPtr.Zero);
        }
    }

    /// <summary>
    /// The mock API of the librdkafka build Confluent.Kafka loaded. It ships several (<c>librdkafka.so</c>, which needs
    /// <c>libsasl2.so.3</c>, and self-contained fallbacks such as <c>centos8-librdkafka.so</c>) and picks the first that
    /// loads, so the import resolves to the module already in the process rather than to a name.
    /// </summary>
    private static class Native
    {
        private const string Library = "librdkafka";
        private static readonly Lazy<IntPtr> Loaded = new(LoadConfluentsLibrary);
        private static int _resolverSet;

        public static void EnsureResolved()
        {
            if (Interlocked.Exchange(ref _resolverSet, 1) == 0)
                NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, (name, _, _) => name == Library ? Loaded.Value : IntPtr.Zero);
            _ = Loaded.Value;
        }

        private static IntPtr LoadConfluentsLibrary()
        {
            // Makes Confluent.Kafka load its native library now (it does so on first use).
            _ = Confluent.Kafka.Library.Version;
            using var process = Process.GetCurrentProcess();
            var path = process.Modules.Cast<ProcessModule>().Select(m => m.FileName)
                .FirstOrDefault(f => Path.GetFileName(f).Contains("rdkafka", StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException("Confluent.Kafka is loaded but no librdkafka module is in the process");
            return NativeLibrary.Load(path);
        }

#pragma warning disable SYSLIB1054 // DllImport keeps the resolver above in charge of which library answers
        [DllImport(Library)] public static extern IntPtr rd_kafka_conf_new();
        [DllImport(Library)] public static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);
        [DllImport(Library)] public static extern void rd_kafka_destroy(IntPtr rk);
        [DllImport(Library)] public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
        [DllImport(Library)] public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);
        [DllImport(Library)] public static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);
        [DllImport(Library)] public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replication);
        [DllImport(Library)] public static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);
        [DllImport(Library)] public static extern int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);
        [DllImport(Library)] public static extern int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);
        [DllImport(Library)] public static extern void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, UIntPtr count, int[] errors);
        [DllImport(Library)] public static extern void rd_kafka_mock_broker_set_host_port(IntPtr cluster, int brokerId, [MarshalAs(UnmanagedType.LPUTF8Str)] string host, int port);
#pragma warning restore SYSLIB1054
    }
}

/// <summary>The Kafka protocol's request types (API keys) whose answers <see cref="KafkaMockCluster.PushRequestErrors"/> can replace.</summary>
public enum KafkaApi : short
{
    Produce = 0,
    Fetch = 1,
    Metadata = 3,
    OffsetCommit = 8,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    SyncGroup = 14,
    InitProducerId = 22,
}
