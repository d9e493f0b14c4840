using AspireChat.Messaging.Storage.Postgres;
using Npgsql;
using static AspireChat.Messaging.Storage.Postgres.PostgresMessageRows;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// Groups in PostgreSQL: <c>group_info</c>, current members (<c>group_members</c>), every membership period
/// (<c>group_memberships</c>) — and, as the <see cref="IUserStore"/>, <c>user_info</c> and large-group cursors
/// (<c>group_cursors</c>), in the chat store's database.
/// </summary>
public sealed class PostgresGroupStore(NpgsqlDataSource dataSource, PostgresMigrator migrator) : IGroupStore, IUserStore
{
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> CreateGroupAsync(GroupRecord group, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("INSERT INTO group_info(gid, name, owner, created, fanout, fanout_since) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            cancellationToken, group.Gid, group.Name, group.Owner, group.Created, (int)group.Fanout, group.FanoutSince).ConfigureAwait(false) == 1;

    public async ValueTask<int> CountCreatedSinceAsync(string owner, long since, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT count(*)::integer FROM group_info WHERE owner = $1 AND created >= $2", r => r.GetInt32(0), cancellationToken, owner, since)
            .ConfigureAwait(false)).Single();

    public async ValueTask<GroupRecord?> GetGroupAsync(string gid, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT gid, name, owner, created, fanout, fanout_since FROM group_info WHERE gid = $1",
            r => new GroupRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), (GroupFanout)r.GetInt32(4), r.GetInt64(5)),
            cancellationToken, gid).ConfigureAwait(false)).SingleOrDefault();

    public async ValueTask<IReadOnlyList<GroupMember>> GetMembersAsync(string gid, CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT user_id, role, joined FROM group_members WHERE gid = $1 ORDER BY user_id COLLATE \"C\"",
            r => new GroupMember(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, gid).ConfigureAwait(false);

    public async ValueTask<string?> GetRoleAsync(string gid, string user, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT role FROM group_members WHERE gid = $1 AND user_id = $2", r => r.GetString(0), cancellationToken, gid, user).ConfigureAwait(false))
            .SingleOrDefault();

    public async ValueTask<IReadOnlyList<MembershipPeriod>> GetMembershipAsync(string gid, string user, CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT joined, left_at FROM group_memberships WHERE gid = $1 AND user_id = $2 ORDER BY joined",
            r => new MembershipPeriod(r.GetInt64(0), r.IsDBNull(1) ? null : r.GetInt64(1)), cancellationToken, gid, user).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<string>> GetUserGroupsAsync(string user, CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT gid FROM group_members WHERE user_id = $1 ORDER BY gid COLLATE \"C\"", r => r.GetString(0), cancellationToken, user).ConfigureAwait(false);

    // Removals: only a period that began at or before this event ends here, so a replay finds none open. Additions: a
    // member already in keeps its join point; anyone else joins at this cseq. One transaction, every change in one batch.
    private const string Remove = """
        WITH gone AS (DELETE FROM group_members WHERE gid = $1 AND user_id = ANY($3) AND joined <= $2)
        UPDATE group_memberships SET left_at = $2 WHERE gid = $1 AND user_id = ANY($3) AND left_at IS NULL AND joined <= $2
        """;

    private const string Add = """
        WITH joining AS (
            SELECT t.user_id, t.role FROM unnest($3::text[], $4::text[]) AS t(user_id, role)
            WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.gid = $1 AND m.user_id = t.user_id AND m.joined < $2)),
        periods AS (
            INSERT INTO group_memberships(gid, user_id, joined, left_at) SELECT $1, user_id, $2, NULL FROM joining ON CONFLICT DO NOTHING)
        INSERT INTO group_members(gid, user_id, role, joined) SELECT $1, user_id, role, $2 FROM joining ON CONFLICT DO NOTHING
        """;

    public async ValueTask ApplyMembershipAsync(string gid, long cseq, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken = default)
    {
        if (changes.Count == 0) return;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        // In the order of the changes: a user removed and added again by one event ends one period and opens the next.
        foreach (var run in Runs(changes))
        {
            batch.BatchCommands.Add(run[0].Removes
                ? new NpgsqlBatchCommand(Remove) { Parameters = { Parameter(gid), Parameter(cseq), Parameter(run.Select(c => c.User).ToArray()) } }
                : new NpgsqlBatchCommand(Add) { Parameters = { Parameter(gid), Parameter(cseq), Parameter(run.Select(c => c.User).ToArray()), Parameter(run.Select(c => c.Role!).ToArray()) } });
        }
        // A batch without an explicit transaction runs in one implicit transaction: all of it or nothing.
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Consecutive changes of one kind, each user once per run.
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
        await ExecuteAsync("UPDATE group_info SET fanout = $2, fanout_since = $3 WHERE gid = $1 AND fanout <> $2", cancellationToken, gid, (int)fanout, since).ConfigureAwait(false);

    public async ValueTask UpsertUserAsync(string user, string? name = null, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(name is null
                ? "INSERT INTO user_info(user_id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING"
                : "INSERT INTO user_info(user_id, name) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name",
            cancellationToken, user, name ?? user).ConfigureAwait(false);

    public async ValueTask<long?> GetGroupCursorAsync(string user, string device, string gid, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT cseq FROM group_cursors WHERE user_id = $1 AND device = $2 AND gid = $3", r => (long?)r.GetInt64(0), cancellationToken, user, device, gid)
            .ConfigureAwait(false)).SingleOrDefault();

    public async ValueTask AdvanceGroupCursorAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("""
            INSERT INTO group_cursors AS c (user_id, device, gid, cseq) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, device, gid) DO UPDATE SET cseq = excluded.cseq WHERE excluded.cseq > c.cseq
            """, cancellationToken, user, device, gid, cseq).ConfigureAwait(false);

    private async ValueTask<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, read, cancellationToken).ConfigureAwait(false);
    }
}
