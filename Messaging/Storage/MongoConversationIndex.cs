using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;
using static AspireChat.Messaging.Storage.MongoChatDocuments;

namespace AspireChat.Messaging.Storage;

/// <summary>The conversation index with read and delivered positions in MongoDB (<c>conversations</c>, <c>read_positions</c>, <c>delivered_positions</c>, each unique by (user, conv), updated only forward).</summary>
public sealed class MongoConversationIndex : IConversationIndex
{
    // A row that another writer keeps moving between this one's read and its write is read again; this many conflicts
    // in a row means the row never settles, a fault the stage's retry of the whole batch surfaces.
    private const int MaxIndexAttempts = 8;

    private readonly IMongoCollection<BsonDocument> _messages;
    private readonly IMongoCollection<BsonDocument> _conversations;
    private readonly IMongoCollection<BsonDocument> _reads;
    private readonly IMongoCollection<BsonDocument> _delivered;
    private readonly Func<CancellationToken, Task>? _betweenReadAndWrite;

    public MongoConversationIndex(IMongoDatabase database) : this(database, null)
    {
    }

    /// <param name="database">The database holding the index collections.</param>
    /// <param name="betweenReadAndWrite">
    /// Awaited once per index update between the read of the rows and their conditional write: tests interleave a second
    /// writer there.
    /// </param>
    internal MongoConversationIndex(IMongoDatabase database, Func<CancellationToken, Task>? betweenReadAndWrite)
    {
        _messages = database.GetCollection<BsonDocument>(MongoChatStore.Messages);
        _conversations = database.GetCollection<BsonDocument>(MongoChatStore.Conversations);
        _reads = database.GetCollection<BsonDocument>(MongoChatStore.ReadPositions);
        _delivered = database.GetCollection<BsonDocument>(MongoChatStore.DeliveredPositions);
        _betweenReadAndWrite = betweenReadAndWrite;
    }

    /// <summary>
    /// Stage 2's index write (<see cref="IChatWrites.UpdateConversationsAsync"/>): per attempt one read of the rows, one
    /// aggregation of the users' latest activities and one unordered bulk write. Each row's update is conditional on the
    /// exact <c>lastCseq</c> read (or on the row's absence), so a writer that read a row another then moved (two workers
    /// of one user while a partition moves) changes nothing and reads it again: the count of others' messages is
    /// incremented by what the row still lacks, never twice for one message.
    /// </summary>
    internal async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return;
        // In the order the rows' last messages came, so each user's activity (ts) rises with them and stays unique.
        var lastAt = new Dictionary<(string, string), int>();
        for (var i = 0; i < appends.Count; i++) lastAt[(appends[i].User, appends[i].Message.Conv)] = i;
        var rows = appends.GroupBy(a => (a.User, a.Message.Conv)).OrderBy(r => lastAt[r.Key]).ToList();

        for (var attempt = 1; ; attempt++)
        {
            var stored = await LastCseqsAsync(rows.Select(r => r.Key), cancellationToken).ConfigureAwait(false);
            var activity = await LatestActivitiesAsync(rows.Select(r => r.Key.User).Distinct(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
            if (attempt == 1 && _betweenReadAndWrite is { } pause) await pause(cancellationToken).ConfigureAwait(false);

            var updates = new List<WriteModel<BsonDocument>>(rows.Count);
            var updated = new List<IGrouping<(string User, string Conv), InboxAppend>>(rows.Count);
            foreach (var row in rows)
            {
                long? last = stored.TryGetValue(row.Key, out var value) ? value : null;
                var newer = row.Where(a => a.Message.Cseq > (last ?? 0)).ToList();
                if (newer.Count == 0) continue;
                var top = newer.MaxBy(a => a.Message.Cseq)!.Message;
                var ts = activity[row.Key.User] = Math.Max(top.Ts, activity.GetValueOrDefault(row.Key.User) + 1);
                var others = newer.DistinctBy(a => a.Message.Cseq).Count(a => a.Message.From != row.Key.User && a.Message.Type >= 0);
                // The row as it was read, or no row: a row moved since matches nothing, and the upsert that follows is a
                // duplicate key on (user, conv).
                var filter = new BsonDocument { { "user", row.Key.User }, { "conv", row.Key.Conv } };
                filter["lastCseq"] = last is { } read ? new BsonInt64(read) : new BsonDocument("$exists", false);
                updates.Add(new UpdateOneModel<BsonDocument>(filter, new BsonDocument
                {
                    { "$set", new BsonDocument { { "lastCseq", new BsonInt64(top.Cseq) }, { "ts", new BsonInt64(ts) } } },
                    { "$inc", new BsonDocument("others", new BsonInt64(others)) },
                }) { IsUpsert = true });
                updated.Add(row);
            }
            if (updates.Count == 0) return;
            try
            {
                await _conversations.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
            {
                // Another writer moved those rows after this one read them: read them again, and add only what they lack.
                if (attempt == MaxIndexAttempts)
                    throw new InvalidOperationException($"Conversation index rows kept moving under {MaxIndexAttempts} conditional updates in a row.", e);
                rows = [.. e.WriteErrors.Select(error => updated[error.Index]).Distinct()];
            }
        }
    }

    private async Task<Dictionary<(string User, string Conv), long>> LastCseqsAsync(IEnumerable<(string User, string Conv)> keys, CancellationToken cancellationToken)
    {
        var filter = new BsonDocument("$or", new BsonArray(keys.Select(k => new BsonDocument { { "user", k.User }, { "conv", k.Conv } })));
        var rows = await _conversations.Find(filter).Project(new BsonDocument { { "_id", 0 }, { "user", 1 }, { "conv", 1 }, { "lastCseq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(d => (d["user"].AsString, d["conv"].AsString), d => d["lastCseq"].AsInt64);
    }

    // Each user's latest activity in one aggregation: sorted as the (user, ts desc) index is, the $group takes the first
    // entry of each user (the server answers it with a distinct scan of the index, one key per user).
    private async Task<Dictionary<string, long>> LatestActivitiesAsync(IEnumerable<string> users, CancellationToken cancellationToken)
    {
        var pipeline = new EmptyPipelineDefinition<BsonDocument>()
            .Match(new BsonDocument("user", new BsonDocument("$in", new BsonArray(users))))
            .Sort(new BsonDocument { { "user", 1 }, { "ts", -1 } })
            .Group(new BsonDocument { { "_id", "$user" }, { "ts", new BsonDocument("$first", "$ts") } });
        var latest = await (await _conversations.AggregateAsync(pipeline, cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return latest.ToDictionary(d => d["_id"].AsString, d => d["ts"].AsInt64, StringComparer.Ordinal);
    }

    public async ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0) return [];
        var rows = await _conversations.Find(new BsonDocument { { "user", user }, { "ts", new BsonDocument("$lt", new BsonInt64(before ?? long.MaxValue)) } })
            .Sort(new BsonDocument("ts", -1)).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0) return [];
        var convs = new BsonArray(rows.Select(r => r["conv"]));
        var reads = (await _reads.Find(new BsonDocument { { "user", user }, { "conv", new BsonDocument("$in", convs) } }).ToListAsync(cancellationToken).ConfigureAwait(false))
            .ToDictionary(d => d["conv"].AsString);
        var messages = (await _messages.Find(new BsonDocument("$or", new BsonArray(rows.Select(r => new BsonDocument { { "conv", r["conv"] }, { "cseq", r["lastCseq"] } }))))
            .ToListAsync(cancellationToken).ConfigureAwait(false)).Select(ToMessage).ToDictionary(m => (m.Conv, m.Cseq));
        var entries = new List<ConversationEntry>(rows.Count);
        foreach (var row in rows)
        {
            var conv = row["conv"].AsString;
            if (!messages.TryGetValue((conv, row["lastCseq"].AsInt64), out var last)) continue;
            var read = reads.GetValueOrDefault(conv);
            entries.Add(new ConversationEntry(new ConversationState(user, conv, last.Cseq, row["ts"].AsInt64, row["others"].AsInt64,
                read?["cseq"].AsInt64 ?? 0, read?["othersAt"].AsInt64 ?? 0), last));
        }
        return entries;
    }

    public async ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var key = new BsonDocument { { "user", user }, { "conv", conv } };
        var row = await _conversations.Find(key).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var read = await _reads.Find(key).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return new ConversationState(user, conv, row?["lastCseq"].AsInt64 ?? 0, row?["ts"].AsInt64 ?? 0, row?["others"].AsInt64 ?? 0,
            read?["cseq"].AsInt64 ?? 0, read?["othersAt"].AsInt64 ?? 0);
    }

    public async ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await _reads.UpdateOneAsync(
                new BsonDocument { { "user", user }, { "conv", conv }, { "cseq", new BsonDocument("$lt", new BsonInt64(cseq)) } },
                new BsonDocument("$set", new BsonDocument { { "cseq", new BsonInt64(cseq) }, { "othersAt", new BsonInt64(othersAtRead) } }),
                new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
            return result.ModifiedCount > 0 || result.UpsertedId is not null;
        }
        catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
        {
            return false; // already at or past cseq
        }
    }

    /// <summary>One unordered bulk write for all the positions (the highest of each conversation), each moving only forward.</summary>
    public async ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        if (positions.Count == 0) return [];
        var highest = positions.GroupBy(p => p.Conv, StringComparer.Ordinal).Select(g => g.MaxBy(p => p.Cseq)!).ToList();
        var updates = highest.Select(p => new UpdateOneModel<BsonDocument>(
            new BsonDocument { { "user", user }, { "conv", p.Conv }, { "cseq", new BsonDocument("$lt", new BsonInt64(p.Cseq)) } },
            new BsonDocument("$set", new BsonDocument("cseq", new BsonInt64(p.Cseq)))) { IsUpsert = true }).ToList<WriteModel<BsonDocument>>();
        var stayed = new HashSet<int>();
        try
        {
            await _delivered.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
        {
            // A duplicate key is a position already at or past its cseq (the filter matched nothing, the upsert collided).
            stayed.UnionWith(e.WriteErrors.Select(error => error.Index));
        }
        // Every other update moved its position: its filter only matches a lower cseq, and an upsert inserts one.
        return [.. highest.Where((_, i) => !stayed.Contains(i))];
    }

    public async ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var filter = new BsonDocument { { "conv", conv }, { "user", new BsonDocument("$in", new BsonArray(users)) } };
        var delivered = (await _delivered.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        var read = (await _reads.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        return [.. users.Select(u => new ReceiptPosition(u, delivered.GetValueOrDefault(u), read.GetValueOrDefault(u)))];
    }
}
