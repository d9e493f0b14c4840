using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AspireChat.Messaging.Storage;
using RocksDbSharp;

namespace AspireChat.Messaging.Groups;

/// <summary>
/// The embedded group store: records beside the chat store's in the same RocksDB database.
/// Key layout: <c>G</c> gid → group; <c>N</c> (gid, user) → member; <c>U</c> (user, gid) the user's groups;
/// <c>P</c> (gid, user, joined) → left; <c>W</c> user → name; <c>X</c> (user, device, gid) → group cursor;
/// <c>H</c> (owner, created, gid) the groups a user created, by time.
/// </summary>
public sealed class RocksDbGroupStore(RocksDbDatabase database) : IGroupStore, IUserStore
{
    private const byte Group = (byte)'G', Member = (byte)'N', UserGroup = (byte)'U', Period = (byte)'P', UserInfo = (byte)'W', GroupCursor = (byte)'X', Created = (byte)'H';

    // Read-compare-write steps (create, membership, cursors) must not interleave.
    private readonly Lock _writeLock = new();

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<bool> CreateGroupAsync(GroupRecord group, CancellationToken cancellationToken = default)
    {
        var key = GroupKey(group.Gid);
        lock (_writeLock)
        {
            if (database.Get(key) is not null) return ValueTask.FromResult(false);
            using var batch = new WriteBatch();
            batch.Put(key, JsonSerializer.SerializeToUtf8Bytes(group, MessagingJson.Default.GroupRecord));
            batch.Put(new KeyBuilder(Created).Text(group.Owner).Number(group.Created).Text(group.Gid).ToArray(), Array.Empty<byte>());
            database.Write(batch);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<int> CountCreatedSinceAsync(string owner, long since, CancellationToken cancellationToken = default)
    {
        var prefix = new KeyBuilder(Created).Text(owner).ToArray();
        var count = database.Scan(prefix, from: new KeyBuilder(Created).Text(owner).Number(Math.Max(0, since)).ToArray()).Count();
        return ValueTask.FromResult(count);
    }

    public ValueTask<GroupRecord?> GetGroupAsync(string gid, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(database.Get(GroupKey(gid)) is { } value ? JsonSerializer.Deserialize(value, MessagingJson.Default.GroupRecord) : null);

    public ValueTask<IReadOnlyList<GroupMember>> GetMembersAsync(string gid, CancellationToken cancellationToken = default)
    {
        var members = new List<GroupMember>();
        foreach (var (_, value) in database.Scan(new KeyBuilder(Member).Text(gid).ToArray()))
            members.Add(JsonSerializer.Deserialize(value, MessagingJson.Default.GroupMember)!);
        return ValueTask.FromResult<IReadOnlyList<GroupMember>>(members);
    }

    public ValueTask<string?> GetRoleAsync(string gid, string user, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetMember(gid, user)?.Role);

    public ValueTask<IReadOnlyList<MembershipPeriod>> GetMembershipAsync(string gid, string user, CancellationToken cancellationToken = default)
    {
        var periods = new List<MembershipPeriod>();
        foreach (var (key, value) in database.Scan(new KeyBuilder(Period).Text(gid).Text(user).ToArray()))
            periods.Add(new MembershipPeriod(KeyBuilder.LastNumber(key), value.Length == 8 ? BinaryPrimitives.ReadInt64BigEndian(value) : null));
        return ValueTask.FromResult<IReadOnlyList<MembershipPeriod>>(periods);
    }

    public ValueTask<IReadOnlyList<string>> GetUserGroupsAsync(string user, CancellationToken cancellationToken = default)
    {
        var groups = new List<string>();
        foreach (var (key, _) in database.Scan(new KeyBuilder(UserGroup).Text(user).ToArray())) groups.Add(KeyBuilder.TextAt(key, 1));
        return ValueTask.FromResult<IReadOnlyList<string>>(groups);
    }

    public ValueTask ApplyMembershipAsync(string gid, long cseq, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken = default)
    {
        if (changes.Count == 0) return ValueTask.CompletedTask;
        lock (_writeLock)
        {
            using var batch = new WriteBatch();
            foreach (var change in changes)
            {
                var member = GetMember(gid, change.User);
                if (change.Removes)
                {
                    // Only a period that began before this event ends here; a replay finds none open.
                    if (member is null || member.Joined > cseq) continue;
                    batch.Delete(MemberKey(gid, change.User));
                    batch.Delete(new KeyBuilder(UserGroup).Text(change.User).Text(gid).ToArray());
                    batch.Put(PeriodKey(gid, change.User, member.Joined), KeyBuilder.Int64(cseq));
                }
                else
                {
                    // A member already in keeps its join point.
                    if (member is not null && member.Joined <= cseq) continue;
                    batch.Put(MemberKey(gid, change.User), JsonSerializer.SerializeToUtf8Bytes(new GroupMember(change.User, change.Role!, cseq), MessagingJson.Default.GroupMember));
                    batch.Put(new KeyBuilder(UserGroup).Text(change.User).Text(gid).ToArray(), Array.Empty<byte>());
                    if (database.Get(PeriodKey(gid, change.User, cseq)) is null) batch.Put(PeriodKey(gid, change.User, cseq), Array.Empty<byte>());
                }
            }
            if (batch.Count() > 0) database.Write(batch);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask SetFanoutAsync(string gid, GroupFanout fanout, long since, CancellationToken cancellationToken = default)
    {
        lock (_writeLock)
        {
            if (database.Get(GroupKey(gid)) is not { } value) return ValueTask.CompletedTask;
            var group = JsonSerializer.Deserialize(value, MessagingJson.Default.GroupRecord)!;
            if (group.Fanout == fanout) return ValueTask.CompletedTask;
            database.Put(GroupKey(gid), JsonSerializer.SerializeToUtf8Bytes(group with { Fanout = fanout, FanoutSince = since }, MessagingJson.Default.GroupRecord));
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask UpsertUserAsync(string user, string? name = null, CancellationToken cancellationToken = default)
    {
        var key = new KeyBuilder(UserInfo).Text(user).ToArray();
        lock (_writeLock)
        {
            if (name is null && database.Get(key) is not null) return ValueTask.CompletedTask;
            database.Put(key, Encoding.UTF8.GetBytes(name ?? user));
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<long?> GetGroupCursorAsync(string user, string device, string gid, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(database.Get(CursorKey(user, device, gid)) is { } value ? BinaryPrimitives.ReadInt64BigEndian(value) : (long?)null);

    public ValueTask AdvanceGroupCursorAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken = default)
    {
        var key = CursorKey(user, device, gid);
        lock (_writeLock)
        {
            if (database.Get(key) is { } stored && BinaryPrimitives.ReadInt64BigEndian(stored) >= cseq) return ValueTask.CompletedTask;
            database.Put(key, KeyBuilder.Int64(cseq));
        }
        return ValueTask.CompletedTask;
    }

    private GroupMember? GetMember(string gid, string user) =>
        database.Get(MemberKey(gid, user)) is { } value ? JsonSerializer.Deserialize(value, MessagingJson.Default.GroupMember) : null;

    private static byte[] GroupKey(string gid) => new KeyBuilder(Group).Text(gid).ToArray();
    private static byte[] MemberKey(string gid, string user) => new KeyBuilder(Member).Text(gid).Text(user).ToArray();
    private static byte[] PeriodKey(string gid, string user, long joined) => new KeyBuilder(Period).Text(gid).Text(user).Number(joined).ToArray();
    private static byte[] CursorKey(string user, string device, string gid) => new KeyBuilder(GroupCursor).Text(user).Text(device).Text(gid).ToArray();

}
