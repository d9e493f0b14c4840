using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireChat.Messaging.Log;

/// <summary>Where a consumer-group member of the Kafka log stands.</summary>
public enum KafkaMemberPhase
{
    /// <summary>Subscribed, waiting for the group to assign it partitions (or holding none: more members than partitions).</summary>
    Joining,

    /// <summary>In the group with partitions assigned.</summary>
    Assigned,

    /// <summary>Its consumer failed and is being rebuilt after a backoff.</summary>
    Faulted,
}

/// <summary>A consumer-group member of the Kafka log as its health check reports it.</summary>
/// <param name="Restarts">How often its consumer was rebuilt after a fault.</param>
/// <param name="FailingPartitions">The partitions (ascending) whose current batch the handler failed at least once and is retrying.</param>
/// <param name="Fault">The last fault, while <see cref="Phase"/> is <see cref="KafkaMemberPhase.Faulted"/>.</param>
public sealed record KafkaMemberState(string Topic, string Group, KafkaMemberPhase Phase, int Partitions, int Restarts, IReadOnlyList<int> FailingPartitions, string? Fault);

/// <summary>The Kafka log's producer as its health check reports it.</summary>
/// <param name="Fatal">The fatal error the producer hit, until the rebuilt producer replaces it; null while it works.</param>
/// <param name="Rebuilds">How often the producer was rebuilt after a fatal error.</param>
public sealed record KafkaProducerState(string? Fatal, int Rebuilds);

/// <summary>What one member's consumer loop reports about itself; read by the health check from another thread.</summary>
internal sealed class KafkaMemberStatus(string topic, string group)
{
    private readonly Lock _gate = new();
    private KafkaMemberPhase _phase = KafkaMemberPhase.Joining;
    private int _partitions, _restarts;
    // One worker per partition at a time: a partition is failing from its handler's first failure until the batch passes.
    private readonly SortedSet<int> _failing = [];
    private string? _fault;

    /// <summary>Whether the current consumer got partitions since it started (a fault after that starts the restart count again).</summary>
    public bool WasAssigned { get; private set; }

    public void Starting()
    {
        lock (_gate) (_phase, _partitions, _fault, WasAssigned) = (KafkaMemberPhase.Joining, 0, null, false);
    }

    public void Holding(int partitions)
    {
        lock (_gate)
        {
            _partitions = partitions;
            if (partitions > 0) WasAssigned = true;
            if (_phase != KafkaMemberPhase.Faulted) _phase = partitions > 0 ? KafkaMemberPhase.Assigned : KafkaMemberPhase.Joining;
        }
    }

    public void Faulted(Exception fault)
    {
        lock (_gate) (_phase, _partitions, _fault, _restarts) = (KafkaMemberPhase.Faulted, 0, fault.Message, _restarts + 1);
    }

    public void HandlerFailing(int partition)
    {
        lock (_gate) _failing.Add(partition);
    }

    public void HandlerRecovered(int partition)
    {
        lock (_gate) _failing.Remove(partition);
    }

    public KafkaMemberState Snapshot()
    {
        lock (_gate) return new KafkaMemberState(topic, group, _phase, _partitions, _restarts, [.. _failing], _fault);
    }
}

/// <summary>
/// The Kafka log's health: unhealthy when no broker answers a metadata request, when the producer hit a fatal error
/// (until it is rebuilt), or when a consumer-group member faulted (until its consumer is rebuilt); degraded while a
/// handler keeps failing on a batch (it is retried, never skipped). Each member's state is in the report's data.
/// </summary>
internal sealed class KafkaLogHealthCheck(KafkaMessageLog log) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var producer = log.Producer;
        var members = log.Members;
        var data = new Dictionary<string, object>
        {
            ["producer"] = producer.Fatal is { } fatal ? $"fatal: {fatal}" : "ok",
            ["producer.rebuilds"] = producer.Rebuilds,
        };
        foreach (var m in members)
        {
            data[$"member {m.Topic}/{m.Group}"] = m.Phase switch
            {
                KafkaMemberPhase.Faulted => $"faulted ({m.Restarts} restart(s)): {m.Fault}",
                KafkaMemberPhase.Assigned => $"{m.Partitions} partition(s)" + (m.FailingPartitions.Count > 0 ? $", handler failing on partition(s) {string.Join(", ", m.FailingPartitions)}" : ""),
                _ => "joining",
            };
        }

        Metadata metadata;
        try
        {
            // GetMetadata blocks; a pool thread waits at most Timeout for it.
            metadata = await Task.Run(() => log.GetMetadata(Timeout), cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Kafka did not answer a metadata request: {e.Error.Reason}", e, data);
        }
        if (metadata.Brokers.Count == 0) return new HealthCheckResult(context.Registration.FailureStatus, "Kafka answered with no brokers", data: data);
        if (producer.Fatal is not null)
            return new HealthCheckResult(context.Registration.FailureStatus, $"the Kafka producer hit a fatal error and is being rebuilt: {producer.Fatal}", data: data);
        if (members.FirstOrDefault(m => m.Phase == KafkaMemberPhase.Faulted) is { } faulted)
            return new HealthCheckResult(context.Registration.FailureStatus, $"the Kafka consumer of {faulted.Topic}/{faulted.Group} faulted and is being rebuilt: {faulted.Fault}", data: data);
        if (members.FirstOrDefault(m => m.FailingPartitions.Count > 0) is { } failing)
            return HealthCheckResult.Degraded(
                $"the handler of {failing.Topic}/{failing.Group} keeps failing on partition(s) {string.Join(", ", failing.FailingPartitions)}; the batches are retried", data: data);
        return HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s), {metadata.Topics.Count} topic(s), {members.Count} consumer(s)", data);
    }
}
