using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;
using static AspireChat.Messaging.Storage.MongoChatDocuments;

namespace AspireChat.Messaging.Storage;

/// <summary>The conversation index with read and delivered positions in MongoDB (<c>conversations</c>, <c>read_positions</c>, <c>delivered_positions</c>, each unique by (user, conv), updated only forward).</summary>
public sealed class MongoConversationIndex(IMongoDatabase database) : IConversationIndex
{
    private readonly IMongoCollection<BsonDocument> _messages = database.GetCollection<BsonDocument>(MongoChatStore.Messages);
    private readonly IMongoCollection<BsonDocument> _conversations = database.GetCollection<BsonDocument>(MongoChatStore.Conversations);
    private readonly IMongoCollection<BsonDocument> _reads = database.GetCollection<BsonDocument>(MongoChatStore.ReadPositions);
    private readonly IMongoCollection<BsonDocument> _delivered = database.GetCollection<BsonDocument>(MongoChatStore.DeliveredPositions);

    /// <summary>Stage 2's index write (<see cref="IChatWrites.UpdateConversationsAsync"/>).</summary>
    internal async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return;
        var rows = appends.GroupBy(a => (a.User, a.Message.Conv)).ToList();
        var filter = new BsonDocument("$or", new BsonArray(rows.Select(r => new BsonDocument { { "user", r.Key.User }, { "conv", r.Key.Conv } })));
        var stored = (await _conversations.Find(filter).Project(new BsonDocument { { "_id", 0 }, { "user", 1 }, { "conv", 1 }, { "lastCseq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false))
            .ToDictionary(d => (d["user"].AsString, d["conv"].AsString), d => d["lastCseq"].AsInt64);

        var activity = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var user in rows.Select(r => r.Key.User).Distinct(StringComparer.Ordinal))
        {
            var latest = await _conversations.Find(new BsonDocument("user", user)).Sort(new BsonDocument("ts", -1)).Limit(1)
                .Project(new BsonDocument { { "_id", 0 }, { "ts", 1 } }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            activity[user] = latest?["ts"].AsInt64 ?? 0;
        }

        var updates = new List<WriteModel<BsonDocument>>(rows.Count);
        // In the order the rows' last messages came, so each user's activity (ts) rises with them and stays unique.
        var lastAt = new Dictionary<(string, string), int>();
        for (var i = 0; i < appends.Count; i++) lastAt[(appends[i].User, appends[i].Message.Conv)] = i;
        foreach (var row in rows.OrderBy(r => lastAt[r.Key]))
        {
            var last = stored.GetValueOrDefault(row.Key);
            var newer = row.Where(a => a.Message.Cseq > last).ToList();
            if (newer.Count == 0) continue;
            var top = newer.MaxBy(a => a.Message.Cseq)!.Message;
            var ts = activity[row.Key.User] = Math.Max(top.Ts, activity[row.Key.User] + 1);
            var others = newer.DistinctBy(a => a.Message.Cseq).Count(a => a.Message.From != row.Key.User && a.Message.Type >= 0);
            // The filter on lastCseq makes a concurrent or replayed update a duplicate key on upsert, never a double count.
            updates.Add(new UpdateOneModel<BsonDocument>(
                new BsonDocument { { "user", row.Key.User }, { "conv", row.Key.Conv }, { "lastCseq", new BsonDocument("$lt", new BsonInt64(top.Cseq)) } },
                new BsonDocument
                {
                    { "$set", new BsonDocument { { "lastCseq", new BsonInt64(top.Cseq) }, { "ts", new BsonInt64(ts) } } },
                    { "$inc", new BsonDocument("others", new BsonInt64(others)) },
                }) { IsUpsert = true });
        }
        if (updates.Count == 0) return;
        try
        {
            await _conversations.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
        {
            // Those rows were already at or past their message.
        }
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

    public async ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        var moved = new List<ConversationPosition>(positions.Count);
        foreach (var position in positions)
        {
            try
            {
                var result = await _delivered.UpdateOneAsync(
                    new BsonDocument { { "user", user }, { "conv", position.Conv }, { "cseq", new BsonDocument("$lt", new BsonInt64(position.Cseq)) } },
                    new BsonDocument("$set", new BsonDocument("cseq", new BsonInt64(position.Cseq))),
                    new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
                if (result.ModifiedCount > 0 || result.UpsertedId is not null) moved.Add(position);
            }
            catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
            {
            }
        }
        return moved;
    }

    public async ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var filter = new BsonDocument { { "conv", conv }, { "user", new BsonDocument("$in", new BsonArray(users)) } };
        var delivered = (await _delivered.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        var read = (await _reads.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        return [.. users.Select(u => new ReceiptPosition(u, delivered.GetValueOrDefault(u), read.GetValueOrDefault(u)))];
    }
}
