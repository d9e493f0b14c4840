using System.Buffers.Binary;
using System.Text;
using AspireChat.Messaging.Conversations;
using RocksDbSharp;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Storage;

/// <summary>The conversation index with read and delivered positions on RocksDB (rows <c>V</c>, <c>L</c>, <c>R</c>, <c>E</c>); <see cref="RocksDbChatStoreBatch"/> moves the index rows.</summary>
public sealed class RocksDbConversationIndex(RocksDbDatabase database) : IConversationIndex
{
    private readonly RocksDbDatabase _database = database;
    // Read and delivered positions are read-compare-written by connections, concurrently with each other and with
    // every other instance over the database.
    private Lock PositionLock => _database.IndexRows;

    public ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        var prefix = new KeyBuilder(ConversationByTime).Text(user).ToArray();
        var from = before is { } b ? new KeyBuilder(ConversationByTime).Text(user).Number(Math.Max(0, b)).ToArray() : null;
        var entries = new List<ConversationEntry>(Math.Min(limit, 256));
        foreach (var (key, _) in _database.Scan(prefix, from, reverse: true))
        {
            if (entries.Count >= limit) break;
            var activity = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(prefix.Length));
            if (before is { } below && activity >= below) continue;
            var conv = Encoding.UTF8.GetString(key.AsSpan(prefix.Length + 8, key.Length - prefix.Length - 9));
            var state = State(user, conv);
            if (_database.Get(ConversationKey(conv, state.LastCseq)) is not { } stored) continue;
            entries.Add(new ConversationEntry(state, RocksDbMessageCodec.Decode(conv, state.LastCseq, stored)));
        }
        return ValueTask.FromResult<IReadOnlyList<ConversationEntry>>(entries);
    }

    public ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(State(user, conv));

    private ConversationState State(string user, string conv)
    {
        var (last, ts, others) = _database.Get(PositionKey(ConversationRow, user, conv)) is { } row
            ? (BinaryPrimitives.ReadInt64BigEndian(row), BinaryPrimitives.ReadInt64BigEndian(row.AsSpan(8)), BinaryPrimitives.ReadInt64BigEndian(row.AsSpan(16)))
            : (0L, 0L, 0L);
        var (read, othersAtRead) = _database.Get(PositionKey(ReadPosition, user, conv)) is { } r
            ? (BinaryPrimitives.ReadInt64BigEndian(r), BinaryPrimitives.ReadInt64BigEndian(r.AsSpan(8)))
            : (0L, 0L);
        return new ConversationState(user, conv, last, ts, others, read, othersAtRead);
    }

    public ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default)
    {
        var key = PositionKey(ReadPosition, user, conv);
        lock (PositionLock)
        {
            if (_database.Get(key) is { } stored && BinaryPrimitives.ReadInt64BigEndian(stored) >= cseq) return ValueTask.FromResult(false);
            _database.Put(key, (byte[])[.. KeyBuilder.Int64(cseq), .. KeyBuilder.Int64(othersAtRead)]);
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        var moved = new List<ConversationPosition>(positions.Count);
        using var batch = new WriteBatch();
        lock (PositionLock)
        {
            foreach (var position in positions)
            {
                var key = PositionKey(DeliveredPosition, user, position.Conv);
                if (_database.Get(key) is { } stored && BinaryPrimitives.ReadInt64BigEndian(stored) >= position.Cseq) continue;
                batch.Put(key, KeyBuilder.Int64(position.Cseq));
                moved.Add(position);
            }
            if (moved.Count > 0) _database.Write(batch);
        }
        return ValueTask.FromResult<IReadOnlyList<ConversationPosition>>(moved);
    }

    public ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var receipts = new ReceiptPosition[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            var delivered = _database.Get(PositionKey(DeliveredPosition, users[i], conv)) is { } d ? BinaryPrimitives.ReadInt64BigEndian(d) : 0;
            var read = _database.Get(PositionKey(ReadPosition, users[i], conv)) is { } r ? BinaryPrimitives.ReadInt64BigEndian(r) : 0;
            receipts[i] = new ReceiptPosition(users[i], delivered, read);
        }
        return ValueTask.FromResult<IReadOnlyList<ReceiptPosition>>(receipts);
    }
}
