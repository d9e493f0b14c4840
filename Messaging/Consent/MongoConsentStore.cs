using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Consent;

/// <summary>
/// The distributed consent store: MongoDB collections beside the chat store's. <c>blocks</c> {blocker, blocked, since}
/// with a unique index on (blocker, blocked); <c>mutes</c> {user, conv} with a unique index on (user, conv) and one on
/// (conv, user) for the push path's "who of these muted this conversation". Writes are idempotent through the unique
/// indexes; no transactions.
/// </summary>
public sealed class MongoConsentStore(IMongoDatabase database) : IConsentStore
{
    public const string Blocks = "blocks", Mutes = "mutes";

    // An $in list this long stays far below the 16 MiB command limit whatever the ids (64 characters at most).
    private const int Chunk = 1000;
    private const int DuplicateKey = 11000;
    private readonly IMongoCollection<BsonDocument> _blocks = database.GetCollection<BsonDocument>(Blocks);
    private readonly IMongoCollection<BsonDocument> _mutes = database.GetCollection<BsonDocument>(Mutes);

    private static IndexKeysDefinitionBuilder<BsonDocument> Keys => Builders<BsonDocument>.IndexKeys;
    private static FilterDefinitionBuilder<BsonDocument> Filter => Builders<BsonDocument>.Filter;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _blocks.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(Keys.Ascending("blocker").Ascending("blocked"), new CreateIndexOptions { Name = "ux_blocks_blocker_blocked", Unique = true }),
            new CreateIndexModel<BsonDocument>(Keys.Ascending("blocked").Ascending("blocker"), new CreateIndexOptions { Name = "ix_blocks_blocked_blocker" }),
        ], cancellationToken).ConfigureAwait(false);
        await _mutes.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(Keys.Ascending("user").Ascending("conv"), new CreateIndexOptions { Name = "ux_mutes_user_conv", Unique = true }),
            new CreateIndexModel<BsonDocument>(Keys.Ascending("conv").Ascending("user"), new CreateIndexOptions { Name = "ix_mutes_conv_user" }),
        ], cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> BlockAsync(string blocker, string blocked, long since, CancellationToken cancellationToken = default)
    {
        try
        {
            await _blocks.InsertOneAsync(new BsonDocument { { "blocker", blocker }, { "blocked", blocked }, { "since", since } },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MongoWriteException e) when (e.WriteError.Code == DuplicateKey)
        {
            return false;
        }
    }

    public async ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        (await _blocks.DeleteOneAsync(Pair(blocker, blocked), cancellationToken).ConfigureAwait(false)).DeletedCount == 1;

    public async ValueTask<IReadOnlyList<BlockEntry>> GetBlocksAsync(string blocker, CancellationToken cancellationToken = default)
    {
        var documents = await _blocks.Find(Filter.Eq("blocker", blocker)).Sort(Builders<BsonDocument>.Sort.Ascending("blocked"))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. documents.Select(d => new BlockEntry(d["blocked"].AsString, d["since"].ToInt64()))];
    }

    public async ValueTask<bool> IsBlockedAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        await _blocks.Find(Pair(blocker, blocked)).Limit(1).AnyAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask<IReadOnlySet<string>> FindBlockersAsync(string blocked, IReadOnlyCollection<string> among, CancellationToken cancellationToken = default) =>
        FindInAsync(_blocks, "blocked", blocked, "blocker", among, cancellationToken);

    public async ValueTask SetMutedAsync(string user, string conv, bool muted, CancellationToken cancellationToken = default)
    {
        var filter = Filter.Eq("user", user) & Filter.Eq("conv", conv);
        if (!muted)
        {
            await _mutes.DeleteOneAsync(filter, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            await _mutes.UpdateOneAsync(filter, Builders<BsonDocument>.Update.SetOnInsert("muted", true),
                new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoWriteException e) when (e.WriteError.Code == DuplicateKey)
        {
            // Two upserts raced; the other one inserted the same document. (The upsert takes user and conv from the filter.)
        }
    }

    public ValueTask<IReadOnlySet<string>> FindMutedConversationsAsync(string user, IReadOnlyCollection<string> convs, CancellationToken cancellationToken = default) =>
        FindInAsync(_mutes, "user", user, "conv", convs, cancellationToken);

    public ValueTask<IReadOnlySet<string>> FindMutedUsersAsync(string conv, IReadOnlyCollection<string> users, CancellationToken cancellationToken = default) =>
        FindInAsync(_mutes, "conv", conv, "user", users, cancellationToken);

    private static FilterDefinition<BsonDocument> Pair(string blocker, string blocked) => Filter.Eq("blocker", blocker) & Filter.Eq("blocked", blocked);

    // The values of `field` among `values` in the documents whose `keyField` is `key`: one query per chunk, the index covering it.
    private static async ValueTask<IReadOnlySet<string>> FindInAsync(IMongoCollection<BsonDocument> collection, string keyField, string key,
        string field, IReadOnlyCollection<string> values, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in values.Distinct(StringComparer.Ordinal).Chunk(Chunk))
        {
            var documents = await collection.Find(Filter.Eq(keyField, key) & Filter.In(field, chunk))
                .Project(Builders<BsonDocument>.Projection.Include(field).Exclude("_id"))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var d in documents) found.Add(d[field].AsString);
        }
        return found;
    }
}
