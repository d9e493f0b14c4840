using System.Buffers.Binary;
using System.Text;
using AspireChat.Messaging.Conversations;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Storage;

/// <summary>Inboxes on RocksDB: the <c>I</c> (user, seq) records that <see cref="RocksDbChatStoreBatch"/> writes.</summary>
public sealed class RocksDbInboxStore(RocksDbDatabase database) : IInboxStore
{
    private readonly RocksDbDatabase _database = database;

    // Storage, never the writer's cache (SequenceHeads): a committed batch is in the database before its heads move.
    public ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(StoredInboxHead(_database, user));

    public ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default)
    {
        var prefix = new KeyBuilder(Inbox).Text(user).ToArray();
        var entries = new List<InboxEntry>(Math.Min(limit, 256));
        foreach (var (key, value) in _database.Scan(prefix, new KeyBuilder(Inbox).Text(user).Number(after + 1).ToArray()))
        {
            if (entries.Count >= limit) break;
            var cseq = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8));
            var conv = Encoding.UTF8.GetString(value.AsSpan(16));
            if (_database.Get(ConversationKey(conv, cseq)) is not { } stored) continue;
            entries.Add(new InboxEntry(user, KeyBuilder.LastNumber(key), RocksDbMessageCodec.Decode(conv, cseq, stored)));
        }
        return ValueTask.FromResult<IReadOnlyList<InboxEntry>>(entries);
    }

    public ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        var prefix = new KeyBuilder(Inbox).Text(user).ToArray();
        foreach (var (key, value) in _database.Scan(prefix, new KeyBuilder(Inbox).Text(user).Number(after + 1).ToArray()))
        {
            if (KeyBuilder.LastNumber(key) > through) break;
            var cseq = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8));
            var conv = Encoding.UTF8.GetString(value.AsSpan(16));
            if (!highest.TryGetValue(conv, out var seen) || cseq > seen) highest[conv] = cseq;
        }
        return ValueTask.FromResult<IReadOnlyList<ConversationPosition>>([.. highest.Select(h => new ConversationPosition(h.Key, h.Value))]);
    }
}
