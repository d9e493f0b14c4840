using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Push subscriptions in MongoDB: the <c>push_subscriptions</c> collection beside the chat store's, one document per
/// (user, device) — the <c>_id</c> is that pair, so a save is one upsert and no index is needed beyond it.
/// </summary>
public sealed class MongoPushSubscriptionStore(IMongoDatabase database) : IPushSubscriptionStore
{
    public const string Subscriptions = "push_subscriptions";

    private readonly IMongoCollection<BsonDocument> _subscriptions = database.GetCollection<BsonDocument>(Subscriptions);

    private static FilterDefinitionBuilder<BsonDocument> Filter => Builders<BsonDocument>.Filter;
    private static UpdateDefinitionBuilder<BsonDocument> Update => Builders<BsonDocument>.Update;

    // A compound _id: matching it is an exact match of both parts, whatever characters the ids contain.
    private static BsonDocument Id(string user, string device) => new() { { "user", user }, { "device", device } };

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await _subscriptions.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("_id.user")),
            cancellationToken: cancellationToken).ConfigureAwait(false);

    public async ValueTask SaveAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        await _subscriptions.ReplaceOneAsync(Filter.Eq("_id", Id(s.User, s.Device)), new BsonDocument
        {
            { "_id", Id(s.User, s.Device) }, { "kind", s.Kind }, { "endpoint", s.Endpoint },
            { "p256dh", (BsonValue?)s.P256dh ?? BsonNull.Value }, { "auth", (BsonValue?)s.Auth ?? BsonNull.Value },
            { "created", s.Created }, { "failures", 0 },
        }, new ReplaceOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<PushSubscription>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        var documents = await _subscriptions.Find(Filter.Eq("_id.user", user)).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. documents.Select(Read).OrderBy(s => s.Device, StringComparer.Ordinal)];
    }

    public async ValueTask<int> RemoveAsync(string user, string? device, string? endpoint, CancellationToken cancellationToken = default)
    {
        var filter = device is null ? Filter.Eq("_id.user", user) : Filter.Eq("_id", Id(user, device));
        if (endpoint is not null) filter &= Filter.Eq("endpoint", endpoint);
        return (int)(await _subscriptions.DeleteManyAsync(filter, cancellationToken).ConfigureAwait(false)).DeletedCount;
    }

    public async ValueTask<bool> RemoveGoneAsync(PushSubscription s, CancellationToken cancellationToken = default) =>
        (await _subscriptions.DeleteOneAsync(Same(s), cancellationToken).ConfigureAwait(false)).DeletedCount == 1;

    public async ValueTask RecordAttemptAsync(PushSubscription s, long at, PushResult result, CancellationToken cancellationToken = default)
    {
        var attempt = Update.Set("lastAttempt", at).Set("lastOutcome", (int)result.Outcome).Set("lastStatus", result.Status);
        await _subscriptions.UpdateOneAsync(Same(s), result.Outcome == PushOutcome.Delivered ? attempt.Set("failures", 0) : attempt.Inc("failures", 1),
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    // The device's subscription only while it is still this one (not one it registered since).
    private static FilterDefinition<BsonDocument> Same(PushSubscription s) =>
        Filter.Eq("_id", Id(s.User, s.Device)) & Filter.Eq("kind", s.Kind) & Filter.Eq("endpoint", s.Endpoint);

    private static PushSubscription Read(BsonDocument d)
    {
        var id = d["_id"].AsBsonDocument;
        string? Text(string name) => d.TryGetValue(name, out var v) && !v.IsBsonNull ? v.AsString : null;
        return new PushSubscription(id["user"].AsString, id["device"].AsString, d["kind"].AsString, d["endpoint"].AsString, Text("p256dh"), Text("auth"),
            d["created"].ToInt64(),
            d.TryGetValue("lastAttempt", out var at) ? new PushAttempt(at.ToInt64(), (PushOutcome)d["lastOutcome"].ToInt32(), d["lastStatus"].ToInt32(), d["failures"].ToInt32()) : null);
    }
}
