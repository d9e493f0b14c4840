using AspireChat.Messaging.Storage;
using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Groups;

/// <summary>The embedded group store: tables beside the chat store's in the same SQLite file.</summary>
public sealed class SqliteGroupStore(SqliteDatabase database) : IGroupStore, IUserStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS group_info (
            gid TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, created INTEGER NOT NULL,
            fanout INTEGER NOT NULL DEFAULT 0, fanout_since INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS group_members (
            gid TEXT NOT NULL, uid TEXT NOT NULL, role TEXT NOT NULL, joined INTEGER NOT NULL,
            PRIMARY KEY (gid, uid)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ix_group_members_uid ON group_members(uid);
        CREATE TABLE IF NOT EXISTS group_memberships (
            gid TEXT NOT NULL, uid TEXT NOT NULL, joined INTEGER NOT NULL, left_at INTEGER,
            PRIMARY KEY (gid, uid, joined)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS user_info (uid TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS group_cursors (
            uid TEXT NOT NULL, device TEXT NOT NULL, gid TEXT NOT NULL, cseq INTEGER NOT NULL,
            PRIMARY KEY (uid, device, gid)) WITHOUT ROWID;
        """;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => { SqliteDatabase.Execute(c, Schema, tx); return 0; }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> CreateGroupAsync(GroupRecord group, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx,
            "INSERT INTO group_info(gid, name, owner, created, fanout, fanout_since) VALUES ($g, $n, $o, $c, $f, $s) ON CONFLICT DO NOTHING",
            ("$g", group.Gid), ("$n", group.Name), ("$o", group.Owner), ("$c", group.Created), ("$f", (int)group.Fanout), ("$s", group.FanoutSince))
            .ExecuteNonQuery() == 1, cancellationToken).ConfigureAwait(false);

    public ValueTask<GroupRecord?> GetGroupAsync(string gid, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT gid, name, owner, created, fanout, fanout_since FROM group_info WHERE gid = $g", ("$g", gid));
        using var r = select.ExecuteReader();
        return ValueTask.FromResult(r.Read()
            ? new GroupRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), (GroupFanout)r.GetInt32(4), r.GetInt64(5))
            : null);
    }

    public ValueTask<IReadOnlyList<GroupMember>> GetMembersAsync(string gid, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT uid, role, joined FROM group_members WHERE gid = $g ORDER BY uid", ("$g", gid));
        using var r = select.ExecuteReader();
        var members = new List<GroupMember>();
        while (r.Read()) members.Add(new GroupMember(r.GetString(0), r.GetString(1), r.GetInt64(2)));
        return ValueTask.FromResult<IReadOnlyList<GroupMember>>(members);
    }

    public ValueTask<string?> GetRoleAsync(string gid, string user, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT role FROM group_members WHERE gid = $g AND uid = $u", ("$g", gid), ("$u", user));
        return ValueTask.FromResult(select.ExecuteScalar() as string);
    }

    public ValueTask<IReadOnlyList<MembershipPeriod>> GetMembershipAsync(string gid, string user, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT joined, left_at FROM group_memberships WHERE gid = $g AND uid = $u ORDER BY joined", ("$g", gid), ("$u", user));
        using var r = select.ExecuteReader();
        var periods = new List<MembershipPeriod>();
        while (r.Read()) periods.Add(new MembershipPeriod(r.GetInt64(0), r.IsDBNull(1) ? null : r.GetInt64(1)));
        return ValueTask.FromResult<IReadOnlyList<MembershipPeriod>>(periods);
    }

    public ValueTask<IReadOnlyList<string>> GetUserGroupsAsync(string user, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT gid FROM group_members WHERE uid = $u ORDER BY gid", ("$u", user));
        using var r = select.ExecuteReader();
        var groups = new List<string>();
        while (r.Read()) groups.Add(r.GetString(0));
        return ValueTask.FromResult<IReadOnlyList<string>>(groups);
    }

    public async ValueTask ApplyMembershipAsync(string gid, long cseq, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken = default)
    {
        if (changes.Count == 0) return;
        await database.WriteAsync((c, tx) =>
        {
            foreach (var change in changes)
            {
                if (change.Removes)
                {
                    // Only a period that began before this event ends here; a replay finds none open.
                    Command(c, tx, "DELETE FROM group_members WHERE gid = $g AND uid = $u AND joined <= $c", ("$g", gid), ("$u", change.User), ("$c", cseq)).ExecuteNonQuery();
                    Command(c, tx, "UPDATE group_memberships SET left_at = $c WHERE gid = $g AND uid = $u AND left_at IS NULL AND joined <= $c",
                        ("$g", gid), ("$u", change.User), ("$c", cseq)).ExecuteNonQuery();
                }
                else
                {
                    // A member already in keeps its join point.
                    using var member = Command(c, tx, "SELECT joined FROM group_members WHERE gid = $g AND uid = $u", ("$g", gid), ("$u", change.User));
                    if (member.ExecuteScalar() is long joined && joined < cseq) continue;
                    Command(c, tx, "INSERT INTO group_memberships(gid, uid, joined, left_at) VALUES ($g, $u, $c, NULL) ON CONFLICT DO NOTHING",
                        ("$g", gid), ("$u", change.User), ("$c", cseq)).ExecuteNonQuery();
                    Command(c, tx, "INSERT INTO group_members(gid, uid, role, joined) VALUES ($g, $u, $r, $c) ON CONFLICT DO NOTHING",
                        ("$g", gid), ("$u", change.User), ("$r", change.Role!), ("$c", cseq)).ExecuteNonQuery();
                }
            }
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SetFanoutAsync(string gid, GroupFanout fanout, long since, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx, "UPDATE group_info SET fanout = $f, fanout_since = $s WHERE gid = $g AND fanout <> $f",
            ("$g", gid), ("$f", (int)fanout), ("$s", since)).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false);

    public async ValueTask UpsertUserAsync(string user, string? name = null, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx, name is null
                ? "INSERT INTO user_info(uid, name) VALUES ($u, $u) ON CONFLICT DO NOTHING"
                : "INSERT INTO user_info(uid, name) VALUES ($u, $n) ON CONFLICT(uid) DO UPDATE SET name = excluded.name",
            ("$u", user), ("$n", name ?? user)).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false);

    public ValueTask<long?> GetGroupCursorAsync(string user, string device, string gid, CancellationToken cancellationToken = default)
    {
        using var c = database.OpenRead();
        using var select = Command(c, null, "SELECT cseq FROM group_cursors WHERE uid = $u AND device = $d AND gid = $g", ("$u", user), ("$d", device), ("$g", gid));
        return ValueTask.FromResult(select.ExecuteScalar() is long cseq ? cseq : (long?)null);
    }

    public async ValueTask AdvanceGroupCursorAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken = default) =>
        await database.WriteAsync((c, tx) => Command(c, tx,
            "INSERT INTO group_cursors(uid, device, gid, cseq) VALUES ($u, $d, $g, $c) ON CONFLICT(uid, device, gid) DO UPDATE SET cseq = MAX(cseq, excluded.cseq)",
            ("$u", user), ("$d", device), ("$g", gid), ("$c", cseq)).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false);

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }
}
