using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// Message states in MongoDB: <c>message_states</c>, one document per (conv, id) with the state as JSON text and the
/// <c>cseq</c> of its pin (indexed with conv, for the pins of a conversation).
/// </summary>
public sealed class MongoMessageStateStore(IMongoDatabase database) : IMessageStateStore
{
    public const string Collection = "message_states";

    private readonly IMongoCollection<BsonDocument> _states = database.GetCollection<BsonDocument>(Collection);

    public async ValueTask<IReadOnlyDictionary<long, MessageState>> GetStatesAsync(string conv, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0) return new Dictionary<long, MessageState>();
        var filter = new BsonDocument { { "conv", conv }, { "id", new BsonDocument("$in", new BsonArray(ids.Select(id => new BsonInt64(id)))) } };
        var documents = await _states.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.Select(Decode).ToDictionary(s => s.Id);
    }

    public async ValueTask<IReadOnlyList<MessageState>> GetPinnedAsync(string conv, int limit, CancellationToken cancellationToken = default)
    {
        var filter = new BsonDocument { { "conv", conv }, { "pinnedCseq", new BsonDocument("$ne", BsonNull.Value) } };
        var documents = await _states.Find(filter).Sort(new BsonDocument("pinnedCseq", -1)).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. documents.Select(Decode)];
    }

    /// <summary>Stage 1's write (<see cref="Storage.IChatWrites.PutMessageStatesAsync"/>): one unordered bulk of upserts.</summary>
    internal async ValueTask PutAsync(IReadOnlyList<MessageState> states, CancellationToken cancellationToken = default)
    {
        if (states.Count == 0) return;
        var upserts = states.Select(s => new ReplaceOneModel<BsonDocument>(
            new BsonDocument { { "conv", s.Conv }, { "id", new BsonInt64(s.Id) } },
            new BsonDocument
            {
                { "conv", s.Conv }, { "id", new BsonInt64(s.Id) }, { "state", JsonSerializer.Serialize(s, MessagingJson.Default.MessageState) },
                { "pinnedCseq", s.PinnedCseq is { } pinned ? new BsonInt64(pinned) : BsonNull.Value },
            }) { IsUpsert = true });
        await _states.BulkWriteAsync(upserts, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The unique (conv, id) index and the pins' (conv, pinnedCseq) index.</summary>
    internal static async Task CreateIndexesAsync(IMongoDatabase database, CancellationToken cancellationToken)
    {
        var keys = Builders<BsonDocument>.IndexKeys;
        await database.GetCollection<BsonDocument>(Collection).Indexes.CreateManyAsync(
            [new CreateIndexModel<BsonDocument>(keys.Ascending("conv").Ascending("id"), new CreateIndexOptions { Name = "ux_message_states_conv_id", Unique = true }),
             new CreateIndexModel<BsonDocument>(keys.Ascending("conv").Descending("pinnedCseq"), new CreateIndexOptions { Name = "ix_message_states_pins" })],
            cancellationToken).ConfigureAwait(false);
    }

    private static MessageState Decode(BsonDocument document) => JsonSerializer.Deserialize(document["state"].AsString, MessagingJson.Default.MessageState)!;
}
