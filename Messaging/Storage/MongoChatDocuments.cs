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

    /// <summary>The current head of each key: from the cache, else the highest stored sequence (read in parallel).</summary>
    public static async Task<Dictionary<string, long>> HeadsAsync(SequenceHeadCache cache, IMongoCollection<BsonDocument> collection,
        string keyField, string seqField, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var heads = new Dictionary<string, long>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var key in keys)
        {
            if (heads.ContainsKey(key)) continue;
            if (cache.TryGet(key, out var cached)) heads[key] = cached;
            else if (!missing.Contains(key, StringComparer.Ordinal)) missing.Add(key);
        }
        var read = await Task.WhenAll(missing.Select(key => StoredHeadAsync(collection, keyField, key, seqField, cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < missing.Count; i++) heads[missing[i]] = read[i];
        return heads;
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
