using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;
using static AspireChat.Messaging.Storage.MongoChatDocuments;

namespace AspireChat.Messaging.Storage;

/// <summary>Device cursors and the send records stage 0 dedups on, in MongoDB (<c>cursors</c>, <c>sends</c>; the TTL index on <c>sends</c> is made by <see cref="MongoChatStore"/>).</summary>
public sealed class MongoCursorStore(IMongoDatabase database) : ICursorStore
{
    private readonly IMongoCollection<BsonDocument> _cursors = database.GetCollection<BsonDocument>(MongoChatStore.Cursors);
    private readonly IMongoCollection<BsonDocument> _sends = database.GetCollection<BsonDocument>(MongoChatStore.Sends);

    /// <summary>Stage 0's write (<see cref="IChatWrites.ReserveSendsAsync"/>).</summary>
    internal async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default)
    {
        if (candidates.Count == 0) return [];
        var results = new SendRecord?[candidates.Count];
        // A key twice in one batch: the first candidate is the one reserved, as if they came one after another.
        var firstOfKey = new Dictionary<(string, string, long), int>();
        var pending = new List<int>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (firstOfKey.TryAdd(SendKey(candidates[i]), i)) pending.Add(i);
        }

        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            // Reservations are independent of one another, so the insert is unordered: one duplicate
            // does not hold back the rest of the batch.
            var duplicates = new List<int>();
            try
            {
                await _sends.InsertManyAsync(pending.Select(i => ToDocument(candidates[i])),
                    new InsertManyOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
            }
            catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
            {
                duplicates.AddRange(e.WriteErrors.Select(error => pending[error.Index]));
            }
            foreach (var i in pending.Except(duplicates)) results[i] = candidates[i];
            if (duplicates.Count == 0) break;

            var earlier = await FindSendsAsync(duplicates.Select(i => candidates[i]), cancellationToken).ConfigureAwait(false);
            pending.Clear();
            foreach (var i in duplicates)
            {
                if (earlier.TryGetValue(SendKey(candidates[i]), out var record)) results[i] = record;
                else pending.Add(i); // expired between the insert and the read: reserve it again
            }
            if (pending.Count > 0 && attempt == MaxWriteAttempts)
                throw new InvalidOperationException("Send records kept expiring while being reserved.");
        }

        for (var i = 0; i < candidates.Count; i++) results[i] ??= results[firstOfKey[SendKey(candidates[i])]];
        return results!;
    }

    private static (string, string, long) SendKey(SendRecord r) => (r.From, r.Device, r.Req);

    /// <summary>Stage 0's lookup (<see cref="IChatWrites.FindSendsAsync"/>): one find.</summary>
    internal async ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default)
    {
        if (keys.Count == 0) return [];
        var found = await FindSendsAsync(keys.AsEnumerable(), cancellationToken).ConfigureAwait(false);
        return [.. keys.Select(k => found.TryGetValue(SendKey(k), out var record) ? record : null)];
    }

    private async Task<Dictionary<(string, string, long), SendRecord>> FindSendsAsync(IEnumerable<SendRecord> keys, CancellationToken cancellationToken)
    {
        var filter = new BsonDocument("$or", new BsonArray(keys.Select(k =>
            new BsonDocument { { "from", k.From }, { "device", k.Device }, { "req", new BsonInt64(k.Req) } })));
        var found = await _sends.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(d => new SendRecord(d["from"].AsString, d["device"].AsString, d["req"].AsInt64, d["id"].AsInt64, d["conv"].AsString, d["ts"].AsInt64))
            .ToDictionary(SendKey);
    }

    private static BsonDocument ToDocument(SendRecord r) => new()
    {
        { "from", r.From }, { "device", r.Device }, { "req", new BsonInt64(r.Req) },
        { "id", new BsonInt64(r.Id) }, { "conv", r.Conv }, { "ts", new BsonInt64(r.Ts) },
        // The TTL monitor needs a BSON date; it is the same instant as ts.
        { "createdAt", new BsonDateTime(r.Ts) },
    };

    public async ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default)
    {
        // createdAt is ts as a BSON date, and it is indexed (TTL); filtering on it is "ts < olderThan".
        var result = await _sends.DeleteManyAsync(new BsonDocument("createdAt", new BsonDocument("$lt", new BsonDateTime(olderThan))), cancellationToken)
            .ConfigureAwait(false);
        return result.DeletedCount;
    }

    public async ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        var cursor = await _cursors.Find(new BsonDocument { { "user", user }, { "device", device } })
            .Project(new BsonDocument { { "_id", 0 }, { "seq", 1 } })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return cursor?["seq"].AsInt64;
    }

    public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        AdvanceCursorsAsync([(user, device, seq)], cancellationToken);

    /// <summary>One unordered bulk write of <c>$max</c> upserts for all the cursors.</summary>
    public async ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        if (cursors.Count == 0) return;
        var updates = cursors.Select(c => new UpdateOneModel<BsonDocument>(
            new BsonDocument { { "user", c.User }, { "device", c.Device } },
            new BsonDocument("$max", new BsonDocument("seq", new BsonInt64(c.Seq)))) { IsUpsert = true }).ToList<WriteModel<BsonDocument>>();
        try
        {
            await _cursors.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
        {
            // Two first acks of one device raced to insert its cursor; the losers now find it and apply $max.
            await _cursors.BulkWriteAsync([.. e.WriteErrors.Select(error => updates[error.Index])], new BulkWriteOptions { IsOrdered = false }, cancellationToken)
                .ConfigureAwait(false);
        }
    }
}
