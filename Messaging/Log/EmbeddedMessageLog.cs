using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using AspireChat.Messaging.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Log;

/// <summary>Settings of the embedded log.</summary>
public sealed class EmbeddedLogOptions
{
    /// <summary>Partitions per topic; records with one key always land in one partition.</summary>
    public int Partitions { get; set; } = 8;
    /// <summary>Most records handed to a consumer in one batch.</summary>
    public int MaxBatch { get; set; } = 512;
}

/// <summary>
/// The embedded message log: records are rows of the SQLite file (durable when the append's
/// transaction commits) and are handed to in-process consumers, one task per partition, straight
/// from memory; after a restart a consumer first replays what it had not committed.
/// Consumed records are trimmed, since each topic has one consumer group in embedded mode.
/// </summary>
public sealed partial class EmbeddedMessageLog : IMessageLog
{
    private readonly SqliteDatabase _database;
    private readonly EmbeddedLogOptions _options;
    private readonly ILogger<EmbeddedMessageLog> _logger;
    private readonly ConcurrentDictionary<(string Topic, int Partition), long> _heads = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), Channel<(long Offset, object Record)>> _live = new();
    private readonly SemaphoreSlim _schema = new(1, 1);
    private bool _ready;

    public EmbeddedMessageLog(SqliteDatabase database, EmbeddedLogOptions options, ILogger<EmbeddedMessageLog> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Partitions, 1);
        (_database, _options, _logger) = (database, options, logger);
    }

    /// <summary>Stable partition of a key (FNV-1a), the same in every process and after restarts.</summary>
    public static int PartitionOf(string key, int partitions)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }

    private async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_ready) return;
        await _schema.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ready) return;
            await _database.WriteAsync((c, tx) =>
            {
                SqliteDatabase.Execute(c, """
                    CREATE TABLE IF NOT EXISTS log_records (
                        topic TEXT NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL, payload BLOB NOT NULL,
                        PRIMARY KEY (topic, part, off)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS log_offsets (
                        topic TEXT NOT NULL, grp TEXT NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL,
                        PRIMARY KEY (topic, grp, part)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS log_heads (
                        topic TEXT NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL,
                        PRIMARY KEY (topic, part)) WITHOUT ROWID;
                    """, tx);
                return 0;
            }, cancellationToken).ConfigureAwait(false);
            _ready = true;
        }
        finally
        {
            _schema.Release();
        }
    }

    public async ValueTask AppendAsync<T>(LogTopic<T> topic, IReadOnlyList<T> records, CancellationToken cancellationToken = default)
    {
        if (records.Count == 0) return;
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var payloads = new byte[records.Count][];
        var partitions = new int[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            payloads[i] = JsonSerializer.SerializeToUtf8Bytes(records[i], topic.Json);
            partitions[i] = PartitionOf(topic.KeyOf(records[i]), _options.Partitions);
        }

        await _database.WriteAsync((c, tx) =>
        {
            var offsets = new long[records.Count];
            var moved = new Dictionary<int, long>();
            using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO log_records(topic, part, off, payload) VALUES ($t, $p, $o, $payload)";
            var (t, p, o, payload) = (insert.Parameters.AddWithValue("$t", topic.Name), insert.Parameters.AddWithValue("$p", 0),
                insert.Parameters.AddWithValue("$o", 0L), insert.Parameters.AddWithValue("$payload", Array.Empty<byte>()));
            for (var i = 0; i < records.Count; i++)
            {
                var part = partitions[i];
                if (!moved.TryGetValue(part, out var head)) head = Head(c, tx, topic.Name, part);
                offsets[i] = head + 1;
                moved[part] = head + 1;
                (p.Value, o.Value, payload.Value) = (part, head + 1, payloads[i]);
                insert.ExecuteNonQuery();
            }
            using var heads = c.CreateCommand();
            heads.Transaction = tx;
            heads.CommandText = "INSERT INTO log_heads(topic, part, off) VALUES ($t, $p, $o) ON CONFLICT(topic, part) DO UPDATE SET off = excluded.off";
            var (ht, hp, ho) = (heads.Parameters.AddWithValue("$t", topic.Name), heads.Parameters.AddWithValue("$p", 0), heads.Parameters.AddWithValue("$o", 0L));
            foreach (var (part, head) in moved)
            {
                (hp.Value, ho.Value) = (part, head);
                heads.ExecuteNonQuery();
            }
            return (offsets, moved);
        }, cancellationToken, committed: r =>
        {
            foreach (var (part, head) in r.moved) _heads[(topic.Name, part)] = head;
            for (var i = 0; i < records.Count; i++)
            {
                if (_live.TryGetValue((topic.Name, partitions[i]), out var live))
                    live.Writer.TryWrite((r.offsets[i], records[i]!));
            }
        }).ConfigureAwait(false);
    }

    // The head survives trimming because it is kept in log_heads, not derived from the records.
    private long Head(SqliteConnection c, SqliteTransaction tx, string topic, int part)
    {
        if (_heads.TryGetValue((topic, part), out var head)) return head;
        using var select = c.CreateCommand();
        select.Transaction = tx;
        select.CommandText = "SELECT off FROM log_heads WHERE topic = $t AND part = $p";
        select.Parameters.AddWithValue("$t", topic);
        select.Parameters.AddWithValue("$p", part);
        return select.ExecuteScalar() is long stored ? stored : 0;
    }

    public async Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var partitions = Enumerable.Range(0, _options.Partitions)
            .Select(part => Task.Run(() => ConsumePartitionAsync(topic, group, part, handler, cancellationToken), CancellationToken.None));
        await Task.WhenAll(partitions).ConfigureAwait(false);
    }

    private async Task ConsumePartitionAsync<T>(LogTopic<T> topic, string group, int part, LogBatchHandler<T> handler, CancellationToken cancellationToken)
    {
        // Subscribe before replaying, so nothing appended during the replay is missed; overlap is skipped by offset.
        var live = Channel.CreateUnbounded<(long Offset, object Record)>(new UnboundedChannelOptions { SingleReader = true });
        if (!_live.TryAdd((topic.Name, part), live))
            throw new InvalidOperationException($"topic {topic.Name} partition {part} already has a consumer in this process");
        try
        {
            var done = ReadCommitted(topic.Name, group, part);
            while (!cancellationToken.IsCancellationRequested)
            {
                var stored = ReadStored(topic, part, done);
                if (stored.Count == 0) break;
                done = await HandleAsync(topic, group, part, stored, handler, cancellationToken).ConfigureAwait(false);
            }

            var batch = new List<(long Offset, T Record)>(_options.MaxBatch);
            while (await live.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                var gap = false;
                while (batch.Count < _options.MaxBatch && live.Reader.TryRead(out var item))
                {
                    if (item.Offset <= done) continue;
                    if (item.Offset != done + batch.Count + 1) { gap = true; break; }
                    batch.Add((item.Offset, (T)item.Record));
                }
                if (gap)
                {
                    // Should not happen (appends publish in commit order); recover from the durable copy.
                    LogGap(_logger, topic.Name, part, done);
                    batch = ReadStored(topic, part, done);
                }
                if (batch.Count > 0) done = await HandleAsync(topic, group, part, batch, handler, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _live.TryRemove((topic.Name, part), out _);
        }
    }

    private async ValueTask<long> HandleAsync<T>(LogTopic<T> topic, string group, int part, List<(long Offset, T Record)> batch, LogBatchHandler<T> handler, CancellationToken cancellationToken)
    {
        var records = batch.ConvertAll(b => b.Record);
        var last = batch[^1].Offset;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await handler(records, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // At least once: the batch is retried until it succeeds; skipping it would lose messages.
                LogHandlerFailed(_logger, e, topic.Name, part, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 50 * (1 << Math.Min(attempt, 7)))), cancellationToken).ConfigureAwait(false);
            }
        }
        await _database.WriteAsync((c, tx) =>
        {
            using var commit = c.CreateCommand();
            commit.Transaction = tx;
            commit.CommandText = """
                INSERT INTO log_offsets(topic, grp, part, off) VALUES ($t, $g, $p, $o)
                    ON CONFLICT(topic, grp, part) DO UPDATE SET off = excluded.off;
                DELETE FROM log_records WHERE topic = $t AND part = $p AND off <= $o;
                """;
            commit.Parameters.AddWithValue("$t", topic.Name);
            commit.Parameters.AddWithValue("$g", group);
            commit.Parameters.AddWithValue("$p", part);
            commit.Parameters.AddWithValue("$o", last);
            return commit.ExecuteNonQuery();
        }, CancellationToken.None).ConfigureAwait(false);
        return last;
    }

    private long ReadCommitted(string topic, string group, int part)
    {
        using var c = _database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = "SELECT off FROM log_offsets WHERE topic = $t AND grp = $g AND part = $p";
        select.Parameters.AddWithValue("$t", topic);
        select.Parameters.AddWithValue("$g", group);
        select.Parameters.AddWithValue("$p", part);
        return select.ExecuteScalar() is long off ? off : 0;
    }

    private List<(long Offset, T Record)> ReadStored<T>(LogTopic<T> topic, int part, long after)
    {
        using var c = _database.OpenRead();
        using var select = c.CreateCommand();
        select.CommandText = "SELECT off, payload FROM log_records WHERE topic = $t AND part = $p AND off > $after ORDER BY off LIMIT $limit";
        select.Parameters.AddWithValue("$t", topic.Name);
        select.Parameters.AddWithValue("$p", part);
        select.Parameters.AddWithValue("$after", after);
        select.Parameters.AddWithValue("$limit", _options.MaxBatch);
        using var reader = select.ExecuteReader();
        var records = new List<(long, T)>();
        while (reader.Read())
        {
            var payload = (byte[])reader.GetValue(1);
            records.Add((reader.GetInt64(0), JsonSerializer.Deserialize(payload, topic.Json)!));
        }
        return records;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log {Topic}/{Partition}: consumer handler failed (attempt {Attempt}); retrying the batch")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string topic, int partition, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log {Topic}/{Partition}: gap after offset {Offset} in the live feed; reading from the store")]
    private static partial void LogGap(ILogger logger, string topic, int partition, long offset);
}
