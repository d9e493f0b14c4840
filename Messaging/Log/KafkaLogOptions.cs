namespace AspireChat.Messaging.Log;

/// <summary>Settings of <see cref="KafkaMessageLog"/>; bound from the <c>Kafka</c> section by <c>AddKafkaMessageLog</c>.</summary>
public sealed class KafkaLogOptions
{
    /// <summary>The brokers to bootstrap from, <c>host:port[,host:port…]</c> (<c>ConnectionStrings:kafka</c>).</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Partitions of each topic the log creates; a key always lands in one partition, so this bounds a stage's parallelism.</summary>
    public int Partitions { get; set; } = 12;

    /// <summary>
    /// Replication factor of the topics the log creates; unset = min(3, the cluster's brokers), -1 = the broker's
    /// default. At 3 or more the topics get <c>min.insync.replicas=2</c>, so an <c>acks=all</c> append is on two brokers
    /// at least before it is acknowledged, and one broker may fail without stopping appends.
    /// </summary>
    public short? ReplicationFactor { get; set; }

    /// <summary>
    /// How long the topics the log creates keep records (<c>retention.ms</c>). A stage stopped for longer than this loses
    /// what it had not consumed: <c>chat.accepted</c> holds acknowledged messages not yet sequenced.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Longest time a produced record may wait for the broker's acknowledgement (<c>message.timeout.ms</c>);
    /// past it the append fails (the sender hears <c>unavailable</c> and retries) rather than waiting on.
    /// </summary>
    public TimeSpan MessageTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the producer gathers records into one request (<c>linger.ms</c>).</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Longest time the broker may hold a consumer's fetch when it has no records (<c>fetch.wait.max.ms</c>). A broker
    /// answers as soon as records arrive, so this only bounds idle requests there; librdkafka's mock cluster holds every
    /// fetch this long, which makes it the produce→consume latency floor on the local stand-in (measured: p50 ≈ 260 ms at
    /// librdkafka's default of 500 ms, ≈ 10 ms at 10 ms).
    /// </summary>
    public TimeSpan FetchWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most records handed to a consumer's handler in one batch.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>Records buffered for one partition before its fetching is paused (back-pressure on a slow handler).</summary>
    public int MaxBufferedPerPartition { get; set; } = 4096;

    /// <summary>
    /// A group member unheard of this long is dropped and its partitions move (<c>session.timeout.ms</c>). A broker refuses
    /// less than its <c>group.min.session.timeout.ms</c> (Kafka's default 6 s; Azure Event Hubs wants 30 s or more).
    /// </summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a member tells the group coordinator it is alive (<c>heartbeat.interval.ms</c>).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// When a partition is revoked while its handler runs, how long the handler may finish (and its batch be
    /// committed) before it is cancelled; either way the partition is not handed over before the handler returned.
    /// </summary>
    public TimeSpan RevocationGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First pause before a failed batch is handed to the handler again; doubles up to <see cref="MaxRetryBackoff"/>.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Times a faulted consumer (a fatal client error, an exception out of its consume loop) is rebuilt in a row, after
    /// <see cref="RetryBackoff"/> doubling, before the log gives up and <c>ConsumeAsync</c> fails (its host then stops). A
    /// consumer that got partitions assigned since its last fault starts the count again.
    /// </summary>
    public int ConsumerRestarts { get; set; } = 5;

    /// <summary>
    /// Times in a row a new producer is built after a fatal producer error (after <see cref="RetryBackoff"/>, doubling)
    /// when building one fails, before the log gives up and stops the host: appends cannot succeed without a producer.
    /// </summary>
    public int ProducerRebuildAttempts { get; set; } = 5;

    /// <summary>Further librdkafka properties for producer, consumers and admin client alike (security, client.id …); they win over the settings above.</summary>
    public Dictionary<string, string> Settings { get; set; } = [];
}
