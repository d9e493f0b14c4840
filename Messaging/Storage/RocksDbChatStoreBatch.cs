using System.Buffers.Binary;
using System.Text;
using AspireChat.Messaging.Conversations;
using RocksDbSharp;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The writes of one pass on RocksDB (<see cref="RocksDbChatStore.BeginBatch"/>): each looked up in the batch first, then
/// in the database, so every write stays idempotent; all written by one atomic <see cref="WriteBatch"/> on commit. The
/// unique keys of the other engines are keys here — send (from, device, req), message id, (conv, cseq), (user, seq),
/// (user, message id). Heads come from <see cref="SequenceHeads"/> and move there once the batch is written.
/// </summary>
internal sealed class RocksDbChatStoreBatch(RocksDbDatabase database, SequenceHeads heads) : IChatStoreBatch
{
    private readonly WriteBatch _batch = new();
    // Taken before the first head is read: a forget while the batch runs keeps its heads out of the cache.
    private readonly long _conversationEpoch = heads.Conversations.Epoch, _inboxEpoch = heads.Inboxes.Epoch;
    private readonly Dictionary<(string, string, long), SendRecord> _sends = [];
    private readonly Dictionary<long, ChatMessage> _messages = [];
    private readonly Dictionary<(string, long), long> _inbox = [];
    private readonly Dictionary<string, long> _conversationHeads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _inboxHeads = new(StringComparer.Ordinal);
    private readonly List<InboxAppend> _indexMoves = [];
    private readonly Dictionary<(string Conv, long Id), long?> _pins = [];
    // Ids this batch found absent from the database and writes for the first time: a message whose send was reserved
    // here cannot have been sequenced before, and one sequenced here cannot be in an inbox yet, so the batch does not
    // ask the database (a point read that misses costs a memtable search and a bloom probe per file — about a sixth
    // of the embedded server's CPU at its maximum, three of them per message; docs/benchmarks.md, 2026-12-08).
    private readonly HashSet<long> _reservedHere = [], _sequencedHere = [];
    private RocksDbDatabase Database => database;

    // A (user, conv) row of the index as this batch leaves it; StoredTs is the time its by-time key has in the database.
    private sealed class IndexRow
    {
        public long Last, Ts, Others;
        public long? StoredTs;
        public bool Changed;
    }

    public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default)
    {
        var results = new SendRecord[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            if (_sends.TryGetValue((c.From, c.Device, c.Req), out var held))
            {
                results[i] = held;
                continue;
            }
            var key = new KeyBuilder(Send).Text(c.From).Text(c.Device).Number(c.Req).ToArray();
            if (Database.Get(key) is { } stored)
            {
                held = StoredSend(c, stored);
            }
            else
            {
                held = c;
                var value = new byte[16 + Encoding.UTF8.GetByteCount(c.Conv)];
                BinaryPrimitives.WriteInt64BigEndian(value, c.Id);
                BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), c.Ts);
                Encoding.UTF8.GetBytes(c.Conv, value.AsSpan(16));
                _batch.Put(key, value);
                _batch.Put((byte[])[SendTime, .. KeyBuilder.Int64(c.Ts), .. key.AsSpan(1)], Array.Empty<byte>());
                _reservedHere.Add(c.Id);
            }
            _sends[(c.From, c.Device, c.Req)] = held;
            results[i] = held;
        }
        return ValueTask.FromResult<IReadOnlyList<SendRecord>>(results);
    }

    public ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default)
    {
        var results = new SendRecord?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            var k = keys[i];
            if (_sends.TryGetValue((k.From, k.Device, k.Req), out var held)) results[i] = held;
            else if (Database.Get(new KeyBuilder(Send).Text(k.From).Text(k.Device).Number(k.Req).ToArray()) is { } stored) results[i] = StoredSend(k, stored);
        }
        return ValueTask.FromResult<IReadOnlyList<SendRecord?>>(results);
    }

    private static SendRecord StoredSend(SendRecord key, byte[] stored) => key with
    {
        Id = BinaryPrimitives.ReadInt64BigEndian(stored),
        Ts = BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(8)),
        Conv = Encoding.UTF8.GetString(stored.AsSpan(16)),
    };

    public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
    {
        var result = new ChatMessage[accepted.Count];
        for (var i = 0; i < accepted.Count; i++)
        {
            var m = accepted[i];
            if (!_messages.TryGetValue(m.Id, out var message))
            {
                var idKey = new KeyBuilder(MessageId, 9).Number(m.Id).ToArray();
                if (!_reservedHere.Contains(m.Id) && Database.Get(idKey) is { } stored)
                {
                    // Stored before: the message as stored goes on (erased if it was recalled since), not the copy given.
                    var cseq = BinaryPrimitives.ReadInt64BigEndian(stored);
                    var conv = Encoding.UTF8.GetString(stored.AsSpan(8));
                    message = Database.Get(ConversationKey(conv, cseq)) is { } bytes ? RocksDbMessageCodec.Decode(conv, cseq, bytes) : ChatMessage.Sequenced(m, cseq);
                }
                else
                {
                    if (!_conversationHeads.TryGetValue(m.Conv, out var head)) head = heads.Conversations.Get(m.Conv, conv => StoredConversationHead(database, conv));
                    var cseq = head + 1;
                    _conversationHeads[m.Conv] = cseq;
                    message = ChatMessage.Sequenced(m, cseq);
                    _batch.Put(ConversationKey(m.Conv, cseq), RocksDbMessageCodec.Encode(message));
                    _batch.Put(idKey, (byte[])[.. KeyBuilder.Int64(cseq), .. Encoding.UTF8.GetBytes(m.Conv)]);
                    _sequencedHere.Add(m.Id);
                }
                _messages[m.Id] = message;
            }
            result[i] = message;
        }
        return ValueTask.FromResult<IReadOnlyList<ChatMessage>>(result);
    }

    public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        var result = new InboxEntry[appends.Count];
        for (var i = 0; i < appends.Count; i++)
        {
            var (user, message) = (appends[i].User, appends[i].Message);
            if (_inbox.TryGetValue((user, message.Id), out var seq))
            {
                result[i] = new InboxEntry(user, seq, message, IsNew: false);
                continue;
            }
            var idKey = new KeyBuilder(InboxMessage).Text(user).Number(message.Id).ToArray();
            if (!_sequencedHere.Contains(message.Id) && Database.Get(idKey) is { } stored)
            {
                seq = BinaryPrimitives.ReadInt64BigEndian(stored);
                result[i] = new InboxEntry(user, seq, message, IsNew: false);
            }
            else
            {
                if (!_inboxHeads.TryGetValue(user, out var head)) head = heads.Inboxes.Get(user, u => StoredInboxHead(database, u));
                seq = head + 1;
                _inboxHeads[user] = seq;
                var value = new byte[16 + Encoding.UTF8.GetByteCount(message.Conv)];
                BinaryPrimitives.WriteInt64BigEndian(value, message.Id);
                BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), message.Cseq);
                Encoding.UTF8.GetBytes(message.Conv, value.AsSpan(16));
                _batch.Put(new KeyBuilder(Inbox).Text(user).Number(seq).ToArray(), value);
                _batch.Put(idKey, KeyBuilder.Int64(seq));
                result[i] = new InboxEntry(user, seq, message);
            }
            _inbox[(user, message.Id)] = seq;
        }
        return ValueTask.FromResult<IReadOnlyList<InboxEntry>>(result);
    }

    /// <summary>
    /// Records the index moves; the rows are read and computed at <see cref="CommitAsync"/>, under the database's index
    /// lock and in the write that stores them, so a batch that read a row before another batch moved it can neither write
    /// it back stale nor count a message twice.
    /// </summary>
    public ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        _indexMoves.AddRange(appends);
        return ValueTask.CompletedTask;
    }

    // Each row as the stored one moved by this batch's messages, in their order; each changed row written once, however
    // many messages moved it: one by-time key per row, never a stale one. The caller holds the index lock.
    private (Dictionary<(string User, string Conv), IndexRow> Rows, Dictionary<string, long> Activity) WriteRows()
    {
        var rows = new Dictionary<(string User, string Conv), IndexRow>();
        var activity = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (user, message) in _indexMoves)
        {
            if (!rows.TryGetValue((user, message.Conv), out var row))
            {
                row = new IndexRow();
                if (StoredRow(user, message.Conv) is { } stored)
                {
                    (row.Last, row.Ts, row.Others) = stored;
                    row.StoredTs = row.Ts;
                }
                rows[(user, message.Conv)] = row;
            }
            if (message.Cseq <= row.Last) continue;
            row.Last = message.Cseq;
            row.Ts = activity[user] = Math.Max(message.Ts, (activity.TryGetValue(user, out var latest) ? latest : StoredActivity(user)) + 1);
            if (message.From != user && message.Type >= 0) row.Others++;
            row.Changed = true;
        }
        _indexMoves.Clear();
        foreach (var ((user, conv), row) in rows)
        {
            if (!row.Changed) continue;
            if (row.StoredTs is { } old && old != row.Ts) _batch.Delete(new KeyBuilder(ConversationByTime).Text(user).Number(old).Text(conv).ToArray());
            _batch.Put(new KeyBuilder(ConversationByTime).Text(user).Number(row.Ts).Text(conv).ToArray(), Array.Empty<byte>());
            _batch.Put(PositionKey(ConversationRow, user, conv), (byte[])[.. KeyBuilder.Int64(row.Last), .. KeyBuilder.Int64(row.Ts), .. KeyBuilder.Int64(row.Others)]);
        }
        return (rows, activity);
    }

    // What the batch wrote becomes what the cache holds (the caller holds the index lock, after the write returned).
    private void CacheRows(Dictionary<(string User, string Conv), IndexRow> rows, Dictionary<string, long> activity)
    {
        var cache = Database.IndexRowCache;
        foreach (var ((user, conv), row) in rows)
            if (row.Changed) cache.SetRow(user, conv, new(row.Last, row.Ts, row.Others));
        foreach (var (user, latest) in activity) cache.SetActivity(user, latest);
    }

    // The stored (user, conv) row: from the cache of what earlier batches stored, else read (and cached: it is stored).
    private (long Last, long Ts, long Others)? StoredRow(string user, string conv)
    {
        var cache = Database.IndexRowCache;
        if (cache.TryGetRow(user, conv, out var cached)) return (cached.Last, cached.Ts, cached.Others);
        if (Database.Get(PositionKey(ConversationRow, user, conv)) is not { } stored) return null;
        var row = new RocksDbIndexRowCache.Row(BinaryPrimitives.ReadInt64BigEndian(stored), BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(8)), BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(16)));
        cache.SetRow(user, conv, row);
        return (row.Last, row.Ts, row.Others);
    }

    public ValueTask PutMessageStatesAsync(IReadOnlyList<Operations.MessageState> states, CancellationToken cancellationToken = default)
    {
        foreach (var state in states)
        {
            var key = StateKey(state.Conv, state.Id);
            // The pin index moves with the state: the key of the pin this batch or the database holds is replaced.
            if (!_pins.TryGetValue((state.Conv, state.Id), out var pinned))
                pinned = Database.Get(key) is { } stored ? Operations.RocksDbMessageStateStore.Decode(stored).PinnedCseq : null;
            if (pinned != state.PinnedCseq)
            {
                if (pinned is { } old) _batch.Delete(PinKey(state.Conv, old));
                if (state.PinnedCseq is { } now) _batch.Put(PinKey(state.Conv, now), KeyBuilder.Int64(state.Id));
            }
            _pins[(state.Conv, state.Id)] = state.PinnedCseq;
            _batch.Put(key, Operations.RocksDbMessageStateStore.Encode(state));
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        foreach (var message in messages) _batch.Put(ConversationKey(message.Conv, message.Cseq), RocksDbMessageCodec.Encode(message));
        return ValueTask.CompletedTask;
    }

    // The user's highest stored activity: the top of the user's by-time keys (one seek), unless the cache holds it.
    private long StoredActivity(string user)
    {
        if (Database.IndexRowCache.TryGetActivity(user, out var cached)) return cached;
        var latest = 0L;
        foreach (var (key, _) in Database.Scan(new KeyBuilder(ConversationByTime).Text(user).ToArray(), reverse: true))
        {
            latest = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(Encoding.UTF8.GetByteCount(user) + 2));
            break;
        }
        Database.IndexRowCache.SetActivity(user, latest);
        return latest;
    }

    public ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            if (_indexMoves.Count > 0)
            {
                lock (Database.IndexRows)
                {
                    var (rows, activity) = WriteRows();
                    try
                    {
                        Database.Write(_batch);
                    }
                    catch
                    {
                        Database.IndexRowCache.Clear();
                        throw;
                    }
                    CacheRows(rows, activity);
                }
            }
            else if (_batch.Count() > 0)
            {
                Database.Write(_batch);
            }
        }
        catch
        {
            heads.Conversations.Failed(_conversationHeads.Keys);
            heads.Inboxes.Failed(_inboxHeads.Keys);
            throw;
        }
        heads.Conversations.Committed(_conversationEpoch, _conversationHeads);
        heads.Inboxes.Committed(_inboxEpoch, _inboxHeads);
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _batch.Dispose();
}
