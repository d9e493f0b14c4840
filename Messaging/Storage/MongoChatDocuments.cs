using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Storage;

/// <summary>What the MongoDB chat adapters share: the stored form of a message, the heads read from storage, and how a write error is told apart.</summary>
internal static class MongoChatDocuments
{
    // A batch that meets a duplicate key is resolved against storage and written again; a third
    // conflict in a row means two writers race for one conversation or inbox, which is a fault.
    public const int MaxWriteAttempts = 3;

    /// <summary>The current head of each key: from the cache, else the highest stored sequence (one aggregation for all the uncached keys).</summary>
    public static async Task<Dictionary<string, long>> HeadsAsync(SequenceHeadCache cache, IMongoCollection<BsonDocument> collection,
        string keyField, string seqField, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var heads = new Dictionary<string, long>(StringComparer.Ordinal);
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (heads.ContainsKey(key)) continue;
            if (cache.TryGet(key, out var cached)) heads[key] = cached;
            else missing.Add(key);
        }
        if (missing.Count == 0) return heads;
        var stored = await StoredHeadsAsync(collection, keyField, seqField, missing, cancellationToken).ConfigureAwait(false);
        foreach (var key in missing) heads[key] = stored.GetValueOrDefault(key);
        return heads;
    }

    // Each key's highest sequence in one round trip: sorted as the unique (key, seq) index read backwards, the $group takes
    // the first entry of each key — the server answers it with a distinct scan of that index, one entry per key, as it does
    // for the conversation index's latest activities. A key with nothing stored is absent (head 0).
    private static async Task<Dictionary<string, long>> StoredHeadsAsync(IMongoCollection<BsonDocument> collection, string keyField, string seqField,
        IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var pipeline = new EmptyPipelineDefinition<BsonDocument>()
            .Match(new BsonDocument(keyField, new BsonDocument("$in", new BsonArray(keys))))
            .Sort(new BsonDocument { { keyField, -1 }, { seqField, -1 } })
            .Group(new BsonDocument { { "_id", "$" + keyField }, { "head", new BsonDocument("$first", "$" + seqField) } });
        var heads = await (await collection.AggregateAsync(pipeline, cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return heads.ToDictionary(d => d["_id"].AsString, d => d["head"].AsInt64, StringComparer.Ordinal);
    }

    // Walks the unique (key, seq) index backwards: one index entry, no scan.
    public static async Task<long> StoredHeadAsync(IMongoCollection<BsonDocument> collection, string keyField, string key, string seqField, CancellationToken cancellationToken)
    {
        var top = await collection.Find(new BsonDocument(keyField, key))
            .Sort(new BsonDocument(seqField, -1)).Limit(1)
            .Project(new BsonDocument { { "_id", 0 }, { seqField, 1 } })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return top?[seqField].AsInt64 ?? 0;
    }

    public static bool OnlyDuplicateKeys(MongoBulkWriteException<BsonDocument> e) =>
        e.WriteConcernError is null && e.WriteErrors.Count > 0 && e.WriteErrors.All(error => error.Category == ServerErrorCategory.DuplicateKey);

    public static ChatMessage ToMessage(BsonDocument d) => new(
        d["_id"].AsInt64, d["conv"].AsString, d["cseq"].AsInt64, d["ope"].AsInt32, d["from"].AsString, d["to"].AsString,
        d["type"].AsInt32, ParseJson(d["body"].AsString), d["ex"].IsBsonNull ? null : ParseJson(d["ex"].AsString), d["ts"].AsInt64)
    {
        Reply = d.TryGetValue("reply", out var reply) && !reply.IsBsonNull ? reply.AsInt64 : null,
        Mentions = d.TryGetValue("mentions", out var mentions) && mentions is BsonArray array ? [.. array.Select(m => m.AsString)] : null,
    };

    public static JsonElement ParseJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
