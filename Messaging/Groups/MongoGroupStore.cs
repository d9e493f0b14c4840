using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// The distributed group store: MongoDB collections beside the chat store's. Unique indexes —
/// group_members(gid, user), group_memberships(gid, user, joined), group_cursors(user, device, gid) —
/// make every membership write idempotent without multi-document transactions.
/// </summary>
public sealed class MongoGroupStore(IMongoDatabase database) : IGroupStore, IUserStore
{
    public const string Groups = "groups", Members = "group_members", Memberships = "group_memberships", Users = "users", Cursors = "group_cursors";

    private const int DuplicateKey = 11000;
    private readonly IMongoCollection<BsonDocument> _groups = database.GetCollection<BsonDocument>(Groups);
    private readonly IMongoCollection<BsonDocument> _members = database.GetCollection<BsonDocument>(Members);
    private readonly IMongoCollection<BsonDocument> _memberships = database.GetCollection<BsonDocument>(Memberships);
    private readonly IMongoCollection<BsonDocument> _users = database.GetCollection<BsonDocument>(Users);
    private readonly IMongoCollection<BsonDocument> _cursors = database.GetCollection<BsonDocument>(Cursors);

    private static IndexKeysDefinitionBuilder<BsonDocument> Keys => Builders<BsonDocument>.IndexKeys;
    private static FilterDefinitionBuilder<BsonDocument> Filter => Builders<BsonDocument>.Filter;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _groups.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(Keys.Ascending("owner").Ascending("created"),
            new CreateIndexOptions { Name = "ix_groups_owner_created" }), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _members.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(Keys.Ascending("gid").Ascending("user"), new CreateIndexOptions { Name = "ux_members_gid_user", Unique = true }),
            new CreateIndexModel<BsonDocument>(Keys.Ascending("user"), new CreateIndexOptions { Name = "ix_members_user" }),
        ], cancellationToken).ConfigureAwait(false);
        await _memberships.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(Keys.Ascending("gid").Ascending("user").Ascending("joined"),
            new CreateIndexOptions { Name = "ux_memberships_gid_user_joined", Unique = true }), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _cursors.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(Keys.Ascending("user").Ascending("device").Ascending("gid"),
            new CreateIndexOptions { Name = "ux_group_cursors", Unique = true }), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> CreateGroupAsync(GroupRecord group, CancellationToken cancellationToken = default)
    {
        try
        {
            await _groups.InsertOneAsync(new BsonDocument
            {
                { "_id", group.Gid }, { "name", group.Name }, { "owner", group.Owner }, { "created", group.Created },
                { "fanout", (int)group.Fanout }, { "fanoutSince", group.FanoutSince },
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MongoWriteException e) when (e.WriteError.Code == DuplicateKey)
        {
            return false;
        }
    }

    public async ValueTask<int> CountCreatedSinceAsync(string owner, long since, CancellationToken cancellationToken = default) =>
        (int)await _groups.CountDocumentsAsync(Filter.Eq("owner", owner) & Filter.Gte("created", since), cancellationToken: cancellationToken).ConfigureAwait(false);

    public async ValueTask<GroupRecord?> GetGroupAsync(string gid, CancellationToken cancellationToken = default)
    {
        var d = await _groups.Find(Filter.Eq("_id", gid)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return d is null ? null : new GroupRecord(d["_id"].AsString, d["name"].AsString, d["owner"].AsString, d["created"].ToInt64(),
            (GroupFanout)d["fanout"].ToInt32(), d["fanoutSince"].ToInt64());
    }

    public async ValueTask<IReadOnlyList<GroupMember>> GetMembersAsync(string gid, CancellationToken cancellationToken = default)
    {
        var docs = await _members.Find(Filter.Eq("gid", gid)).Sort(Builders<BsonDocument>.Sort.Ascending("user")).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. docs.Select(d => new GroupMember(d["user"].AsString, d["role"].AsString, d["joined"].ToInt64()))];
    }

    public async ValueTask<string?> GetRoleAsync(string gid, string user, CancellationToken cancellationToken = default)
    {
        var d = await _members.Find(Filter.Eq("gid", gid) & Filter.Eq("user", user)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return d?["role"].AsString;
    }

    public async ValueTask<IReadOnlyList<MembershipPeriod>> GetMembershipAsync(string gid, string user, CancellationToken cancellationToken = default)
    {
        var docs = await _memberships.Find(Filter.Eq("gid", gid) & Filter.Eq("user", user)).Sort(Builders<BsonDocument>.Sort.Ascending("joined"))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. docs.Select(d => new MembershipPeriod(d["joined"].ToInt64(), d["left"].IsBsonNull ? null : d["left"].ToInt64()))];
    }

    public async ValueTask<IReadOnlyList<string>> GetUserGroupsAsync(string user, CancellationToken cancellationToken = default)
    {
        var docs = await _members.Find(Filter.Eq("user", user)).Sort(Builders<BsonDocument>.Sort.Ascending("gid")).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. docs.Select(d => d["gid"].AsString)];
    }

    /// <summary>
    /// A fixed number of round trips per run of changes of one kind (an event is one run: members added, or a member
    /// removed), however many members it names: a removal ends the open periods in one update and deletes the members in
    /// one delete; an addition reads who is a member already in one find, then inserts the periods in one unordered bulk
    /// write and the members in another.
    /// </summary>
    public async ValueTask ApplyMembershipAsync(string gid, long cseq, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken = default)
    {
        // In the order of the changes: a user removed and added again by one call ends one period and opens the next.
        foreach (var run in Runs(changes))
        {
            var members = Filter.Eq("gid", gid) & Filter.In("user", run.Select(c => c.User).ToList());
            if (run[0].Removes)
            {
                // Only a period that began at or before this event ends here; a replay finds none open.
                await _memberships.UpdateManyAsync(members & Filter.Eq("left", BsonNull.Value) & Filter.Lte("joined", cseq),
                    Builders<BsonDocument>.Update.Set("left", cseq), cancellationToken: cancellationToken).ConfigureAwait(false);
                await _members.DeleteManyAsync(members & Filter.Lte("joined", cseq), cancellationToken).ConfigureAwait(false);
                continue;
            }
            // A member since before this event keeps its join point; anyone else joins at this cseq (a replay of the event
            // finds its own rows, and their unique keys make writing them again a duplicate that is ignored).
            var already = (await _members.Find(members & Filter.Lt("joined", cseq)).Project(new BsonDocument { { "_id", 0 }, { "user", 1 } })
                .ToListAsync(cancellationToken).ConfigureAwait(false)).Select(d => d["user"].AsString).ToHashSet(StringComparer.Ordinal);
            var joining = run.Where(c => !already.Contains(c.User)).ToList();
            if (joining.Count == 0) continue;
            // The periods first, then the members: a crash between them replays into the same state (the members are
            // missing, so they join again at this cseq, and their periods are there already).
            await InsertIgnoringDuplicatesAsync(_memberships,
                [.. joining.Select(c => new BsonDocument { { "gid", gid }, { "user", c.User }, { "joined", cseq }, { "left", BsonNull.Value } })], cancellationToken).ConfigureAwait(false);
            await InsertIgnoringDuplicatesAsync(_members,
                [.. joining.Select(c => new BsonDocument { { "gid", gid }, { "user", c.User }, { "role", c.Role! }, { "joined", cseq } })], cancellationToken).ConfigureAwait(false);
        }
    }

    // Consecutive changes of one kind, each user once per run: within a run no change depends on another's write.
    private static List<List<MembershipChange>> Runs(IReadOnlyList<MembershipChange> changes)
    {
        var runs = new List<List<MembershipChange>>();
        foreach (var change in changes)
        {
            if (runs.Count == 0 || runs[^1][0].Removes != change.Removes || runs[^1].Any(c => c.User == change.User)) runs.Add([]);
            runs[^1].Add(change);
        }
        return runs;
    }

    public async ValueTask SetFanoutAsync(string gid, GroupFanout fanout, long since, CancellationToken cancellationToken = default) =>
        await _groups.UpdateOneAsync(Filter.Eq("_id", gid) & Filter.Ne("fanout", (int)fanout),
            Builders<BsonDocument>.Update.Set("fanout", (int)fanout).Set("fanoutSince", since), cancellationToken: cancellationToken).ConfigureAwait(false);

    public async ValueTask UpsertUserAsync(string user, string? name = null, CancellationToken cancellationToken = default)
    {
        var update = name is null
            ? Builders<BsonDocument>.Update.SetOnInsert("name", user)
            : Builders<BsonDocument>.Update.Set("name", name);
        await _users.UpdateOneAsync(Filter.Eq("_id", user), update, new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long?> GetGroupCursorAsync(string user, string device, string gid, CancellationToken cancellationToken = default)
    {
        var d = await _cursors.Find(Filter.Eq("user", user) & Filter.Eq("device", device) & Filter.Eq("gid", gid)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return d?["cseq"].ToInt64();
    }

    public async ValueTask AdvanceGroupCursorAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken = default) =>
        await _cursors.UpdateOneAsync(Filter.Eq("user", user) & Filter.Eq("device", device) & Filter.Eq("gid", gid),
            Builders<BsonDocument>.Update.Max("cseq", cseq), new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);

    // Unordered: every document is tried; one already stored (a replay) is a duplicate key and changes nothing.
    private static async Task InsertIgnoringDuplicatesAsync(IMongoCollection<BsonDocument> collection, List<BsonDocument> documents, CancellationToken cancellationToken)
    {
        try
        {
            await collection.InsertManyAsync(documents, new InsertManyOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (Storage.MongoChatDocuments.OnlyDuplicateKeys(e))
        {
        }
    }
}
