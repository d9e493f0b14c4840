using System.Buffers.Binary;
using AspireChat.Messaging.Storage;

namespace AspireChat.Messaging.Consent;

/// <summary>
/// The embedded consent store, in the RocksDB database the other embedded stores use (docs/data-model.md).
/// Key layout: <c>B</c> (blocker, blocked) → since; <c>Z</c> (user, conv) → nothing (present = muted).
/// Every set query is a point read per member of the set: with the bloom filter, a miss costs no disk read.
/// </summary>
public sealed class RocksDbConsentStore(RocksDbDatabase database) : IConsentStore
{
    private const byte Block = (byte)'B', Mute = (byte)'Z';

    // Block is read-compare-write (the first time is kept): two of them must not interleave.
    private readonly Lock _writeLock = new();

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<bool> BlockAsync(string blocker, string blocked, long since, CancellationToken cancellationToken = default)
    {
        var key = BlockKey(blocker, blocked);
        lock (_writeLock)
        {
            if (database.Get(key) is not null) return ValueTask.FromResult(false);
            database.Put(key, KeyBuilder.Int64(since));
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default)
    {
        var key = BlockKey(blocker, blocked);
        lock (_writeLock)
        {
            if (database.Get(key) is null) return ValueTask.FromResult(false);
            database.Remove(key);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<IReadOnlyList<BlockEntry>> GetBlocksAsync(string blocker, CancellationToken cancellationToken = default)
    {
        var blocks = new List<BlockEntry>();
        foreach (var (key, value) in database.Scan(new KeyBuilder(Block).Text(blocker).ToArray()))
            blocks.Add(new BlockEntry(KeyBuilder.TextAt(key, 1), BinaryPrimitives.ReadInt64BigEndian(value)));
        return ValueTask.FromResult<IReadOnlyList<BlockEntry>>(blocks);
    }

    public ValueTask<bool> IsBlockedAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(database.Get(BlockKey(blocker, blocked)) is not null);

    public ValueTask<IReadOnlySet<string>> FindBlockersAsync(string blocked, IReadOnlyCollection<string> among, CancellationToken cancellationToken = default)
    {
        var blockers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in among)
        {
            if (database.Get(BlockKey(user, blocked)) is not null) blockers.Add(user);
        }
        return ValueTask.FromResult<IReadOnlySet<string>>(blockers);
    }

    public ValueTask SetMutedAsync(string user, string conv, bool muted, CancellationToken cancellationToken = default)
    {
        if (muted) database.Put(MuteKey(user, conv), []);
        else database.Remove(MuteKey(user, conv));
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlySet<string>> FindMutedConversationsAsync(string user, IReadOnlyCollection<string> convs, CancellationToken cancellationToken = default)
    {
        var muted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var conv in convs)
        {
            if (database.Get(MuteKey(user, conv)) is not null) muted.Add(conv);
        }
        return ValueTask.FromResult<IReadOnlySet<string>>(muted);
    }

    public ValueTask<IReadOnlySet<string>> FindMutedUsersAsync(string conv, IReadOnlyCollection<string> users, CancellationToken cancellationToken = default)
    {
        var muted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in users)
        {
            if (database.Get(MuteKey(user, conv)) is not null) muted.Add(user);
        }
        return ValueTask.FromResult<IReadOnlySet<string>>(muted);
    }

    private static byte[] BlockKey(string blocker, string blocked) => new KeyBuilder(Block).Text(blocker).Text(blocked).ToArray();
    private static byte[] MuteKey(string user, string conv) => new KeyBuilder(Mute).Text(user).Text(conv).ToArray();
}
