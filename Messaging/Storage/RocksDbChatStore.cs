using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using AspireChat.Messaging.Conversations;
using RocksDbSharp;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The embedded chat store on RocksDB (the default of <c>dotnet run --project Gateway</c>). Every pipeline pass
/// is one atomic <see cref="WriteBatch"/> (<see cref="BeginBatch"/>): dedup records, messages with their
/// <c>cseq</c>, inbox entries with their <c>seq</c>. The unique keys of the other adapters are keys here —
/// send (from, device, req), message id, (conv, cseq), (user, seq), (user, message id) — and a batch looks each up
/// (in itself first) before it writes, so every write stays idempotent.
/// </summary>
/// <remarks>
/// Key layout (docs/data-model.md): <c>S</c> send → (id, ts, conv); <c>T</c> (ts, send) purge index;
/// <c>M</c> id → (cseq, conv); <c>C</c> (conv, cseq) → message; <c>I</c> (user, seq) → (id, cseq, conv);
/// <c>J</c> (user, id) → seq; <c>D</c> (user, device) → cursor; <c>V</c> (user, conv) → index row (last cseq, activity,
/// others' count); <c>L</c> (user, activity, conv) the index by last activity; <c>R</c> (user, conv) → read (cseq, others'
/// count at it); <c>E</c> (user, conv) → delivered cseq.
/// </remarks>
public sealed class RocksDbChatStore(RocksDbDatabase database) : IChatStore
{
    private readonly RocksDbDatabase _database = database;

    internal const byte Send = (byte)'S', SendTime = (byte)'T', MessageId = (byte)'M', Conversation = (byte)'C',
        Inbox = (byte)'I', InboxMessage = (byte)'J', Cursor = (byte)'D', ConversationRow = (byte)'V', ConversationByTime = (byte)'L',
        ReadPosition = (byte)'R', DeliveredPosition = (byte)'E';

    // Heads are cached because this process is the single writer of the conversations and inboxes it appends to;
    // they move only after the batch that moved them is written.
    private readonly ConcurrentDictionary<string, long> _conversationHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _inboxHeads = new(StringComparer.Ordinal);
    private readonly Lock _cursorLock = new();
    // Read and delivered positions are read-compare-written by connections, concurrently with each other.
    private readonly Lock _positionLock = new();

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IChatStoreBatch BeginBatch() => new Batch(this);

    public async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default)
    {
        using var batch = new Batch(this);
        var result = await batch.ReserveSendsAsync(candidates, cancellationToken).ConfigureAwait(false);
        await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
    {
        using var batch = new Batch(this);
        var result = await batch.AppendMessagesAsync(accepted, cancellationToken).ConfigureAwait(false);
        await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        using var batch = new Batch(this);
        var result = await batch.AppendInboxAsync(appends, cancellationToken).ConfigureAwait(false);
        await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default)
    {
        long purged = 0;
        using var batch = new WriteBatch();
        foreach (var (key, _) in _database.Scan([SendTime]))
        {
            var ts = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(1));
            if (ts >= olderThan) break;
            batch.Delete(key);
            // The send key is the time key without its time.
            batch.Delete((byte[])[Send, .. key.AsSpan(9)]);
            purged++;
        }
        if (purged > 0) _database.Write(batch);
        return ValueTask.FromResult(purged);
    }

    public ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(InboxHead(user));

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
            entries.Add(new InboxEntry(user, KeyBuilder.LastNumber(key), MessageCodec.Decode(conv, cseq, stored)));
        }
        return ValueTask.FromResult<IReadOnlyList<InboxEntry>>(entries);
    }

    public ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default)
    {
        var prefix = new KeyBuilder(Conversation).Text(conv).ToArray();
        var messages = new List<ChatMessage>(Math.Min(limit, 256));
        var scan = after is { } a
            ? _database.Scan(prefix, ConversationKey(conv, a + 1))
            : _database.Scan(prefix, before is { } b ? ConversationKey(conv, Math.Max(0, b - 1)) : null, reverse: true);
        foreach (var (key, value) in scan)
        {
            if (messages.Count >= limit) break;
            var cseq = KeyBuilder.LastNumber(key);
            if (after is null && before is { } below && cseq >= below) continue;
            messages.Add(MessageCodec.Decode(conv, cseq, value));
        }
        if (after is null) messages.Reverse();
        return ValueTask.FromResult<IReadOnlyList<ChatMessage>>(messages);
    }

    public ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_database.Get(CursorKey(user, device)) is { } value ? BinaryPrimitives.ReadInt64BigEndian(value) : (long?)null);

    public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) =>
        AdvanceCursorsAsync([(user, device, seq)], cancellationToken);

    public ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        if (cursors.Count == 0) return ValueTask.CompletedTask;
        using var batch = new WriteBatch();
        // Read-compare-write must not interleave with another advance of the same cursor.
        lock (_cursorLock)
        {
            foreach (var (user, device, seq) in cursors)
            {
                var key = CursorKey(user, device);
                if (_database.Get(key) is { } stored && BinaryPrimitives.ReadInt64BigEndian(stored) >= seq) continue;
                batch.Put(key, KeyBuilder.Int64(seq));
            }
            if (batch.Count() > 0) _database.Write(batch);
        }
        return ValueTask.CompletedTask;
    }

    public async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        using var batch = new Batch(this);
        await batch.UpdateConversationsAsync(appends, cancellationToken).ConfigureAwait(false);
        await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

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
            entries.Add(new ConversationEntry(state, MessageCodec.Decode(conv, state.LastCseq, stored)));
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
        lock (_positionLock)
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
        lock (_positionLock)
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

    private static byte[] PositionKey(byte kind, string user, string conv) => new KeyBuilder(kind).Text(user).Text(conv).ToArray();

    private long ConversationHead(string conv) =>
        _conversationHeads.TryGetValue(conv, out var head) ? head : LastNumberUnder(new KeyBuilder(Conversation).Text(conv).ToArray());

    private long InboxHead(string user) =>
        _inboxHeads.TryGetValue(user, out var head) ? head : LastNumberUnder(new KeyBuilder(Inbox).Text(user).ToArray());

    private long LastNumberUnder(byte[] prefix)
    {
        foreach (var (key, _) in _database.Scan(prefix, reverse: true)) return KeyBuilder.LastNumber(key);
        return 0;
    }

    private static byte[] ConversationKey(string conv, long cseq) => new KeyBuilder(Conversation).Text(conv).Number(cseq).ToArray();
    private static byte[] CursorKey(string user, string device) => new KeyBuilder(Cursor).Text(user).Text(device).ToArray();


    /// <summary>The writes of one pass: looked up in the batch first, then in the database; written by one <see cref="WriteBatch"/>.</summary>
    private sealed class Batch(RocksDbChatStore store) : IChatStoreBatch
    {
        private readonly WriteBatch _batch = new();
        private readonly Dictionary<(string, string, long), SendRecord> _sends = [];
        private readonly Dictionary<long, long> _messages = [];
        private readonly Dictionary<(string, long), long> _inbox = [];
        private readonly Dictionary<string, long> _conversationHeads = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _inboxHeads = new(StringComparer.Ordinal);
        private readonly Dictionary<(string User, string Conv), IndexRow> _rows = [];
        private readonly Dictionary<string, long> _activity = new(StringComparer.Ordinal);
        private RocksDbDatabase Database => store._database;

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
                    held = c with
                    {
                        Id = BinaryPrimitives.ReadInt64BigEndian(stored),
                        Ts = BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(8)),
                        Conv = Encoding.UTF8.GetString(stored.AsSpan(16)),
                    };
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
                }
                _sends[(c.From, c.Device, c.Req)] = held;
                results[i] = held;
            }
            return ValueTask.FromResult<IReadOnlyList<SendRecord>>(results);
        }

        public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
        {
            var result = new ChatMessage[accepted.Count];
            for (var i = 0; i < accepted.Count; i++)
            {
                var m = accepted[i];
                if (!_messages.TryGetValue(m.Id, out var cseq))
                {
                    var idKey = new KeyBuilder(MessageId, 9).Number(m.Id).ToArray();
                    if (Database.Get(idKey) is { } stored)
                    {
                        cseq = BinaryPrimitives.ReadInt64BigEndian(stored);
                    }
                    else
                    {
                        if (!_conversationHeads.TryGetValue(m.Conv, out var head)) head = store.ConversationHead(m.Conv);
                        cseq = head + 1;
                        _conversationHeads[m.Conv] = cseq;
                        var message = new ChatMessage(m.Id, m.Conv, cseq, m.Ope, m.From, m.To, m.Type, m.Body, m.Ex, m.Ts);
                        _batch.Put(ConversationKey(m.Conv, cseq), MessageCodec.Encode(message));
                        _batch.Put(idKey, (byte[])[.. KeyBuilder.Int64(cseq), .. Encoding.UTF8.GetBytes(m.Conv)]);
                    }
                    _messages[m.Id] = cseq;
                }
                result[i] = new ChatMessage(m.Id, m.Conv, cseq, m.Ope, m.From, m.To, m.Type, m.Body, m.Ex, m.Ts);
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
                if (Database.Get(idKey) is { } stored)
                {
                    seq = BinaryPrimitives.ReadInt64BigEndian(stored);
                    result[i] = new InboxEntry(user, seq, message, IsNew: false);
                }
                else
                {
                    if (!_inboxHeads.TryGetValue(user, out var head)) head = store.InboxHead(user);
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

        public ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
        {
            foreach (var (user, message) in appends)
            {
                if (!_rows.TryGetValue((user, message.Conv), out var row))
                {
                    row = new IndexRow();
                    if (Database.Get(PositionKey(ConversationRow, user, message.Conv)) is { } stored)
                    {
                        row.Last = BinaryPrimitives.ReadInt64BigEndian(stored);
                        row.Ts = BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(8));
                        row.Others = BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(16));
                        row.StoredTs = row.Ts;
                    }
                    _rows[(user, message.Conv)] = row;
                }
                if (message.Cseq <= row.Last) continue;
                row.Last = message.Cseq;
                row.Ts = _activity[user] = Math.Max(message.Ts, LatestActivity(user) + 1);
                if (message.From != user && message.Type >= 0) row.Others++;
                row.Changed = true;
            }
            return ValueTask.CompletedTask;
        }

        // The user's highest activity: this batch's, else the top of the user's by-time keys (one seek).
        private long LatestActivity(string user)
        {
            if (_activity.TryGetValue(user, out var latest)) return latest;
            foreach (var (key, _) in Database.Scan(new KeyBuilder(ConversationByTime).Text(user).ToArray(), reverse: true))
                return BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(Encoding.UTF8.GetByteCount(user) + 2));
            return 0;
        }

        // Each changed row once, however many messages moved it in this batch: one by-time key per row, never a stale one.
        private void WriteRows()
        {
            foreach (var ((user, conv), row) in _rows)
            {
                if (!row.Changed) continue;
                if (row.StoredTs is { } old && old != row.Ts) _batch.Delete(new KeyBuilder(ConversationByTime).Text(user).Number(old).Text(conv).ToArray());
                _batch.Put(new KeyBuilder(ConversationByTime).Text(user).Number(row.Ts).Text(conv).ToArray(), Array.Empty<byte>());
                _batch.Put(PositionKey(ConversationRow, user, conv), (byte[])[.. KeyBuilder.Int64(row.Last), .. KeyBuilder.Int64(row.Ts), .. KeyBuilder.Int64(row.Others)]);
                (row.StoredTs, row.Changed) = (row.Ts, false);
            }
        }

        public ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            WriteRows();
            if (_batch.Count() > 0) Database.Write(_batch);
            foreach (var (conv, head) in _conversationHeads) store._conversationHeads[conv] = head;
            foreach (var (user, head) in _inboxHeads) store._inboxHeads[user] = head;
            return ValueTask.CompletedTask;
        }

        public void Dispose() => _batch.Dispose();
    }
}

/// <summary>The stored form of a message under its (conv, cseq) key: fixed fields, then the strings with lengths; JSON kept byte for byte.</summary>
internal static class MessageCodec
{
    public static byte[] Encode(ChatMessage m)
    {
        var body = m.Body.GetRawText();
        var ex = m.Ex?.GetRawText();
        var size = 8 + 4 + 4 + 8 + 4 * 4 + Encoding.UTF8.GetByteCount(m.From) + Encoding.UTF8.GetByteCount(m.To)
            + Encoding.UTF8.GetByteCount(body) + (ex is null ? 0 : Encoding.UTF8.GetByteCount(ex));
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span, m.Id);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], m.Ope);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], m.Type);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], m.Ts);
        var at = 24;
        at = WriteText(span, at, m.From);
        at = WriteText(span, at, m.To);
        at = WriteText(span, at, body);
        WriteText(span, at, ex);
        return buffer;
    }

    public static ChatMessage Decode(string conv, long cseq, ReadOnlySpan<byte> span)
    {
        var at = 24;
        var from = ReadText(span, ref at)!;
        var to = ReadText(span, ref at)!;
        var body = ReadText(span, ref at)!;
        var ex = ReadText(span, ref at);
        return new ChatMessage(BinaryPrimitives.ReadInt64BigEndian(span), conv, cseq, BinaryPrimitives.ReadInt32BigEndian(span[8..]),
            from, to, BinaryPrimitives.ReadInt32BigEndian(span[12..]), Parse(body), ex is null ? null : Parse(ex), BinaryPrimitives.ReadInt64BigEndian(span[16..]));
    }

    private static int WriteText(Span<byte> span, int at, string? text)
    {
        if (text is null)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[at..], -1);
            return at + 4;
        }
        var length = Encoding.UTF8.GetBytes(text, span[(at + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(span[at..], length);
        return at + 4 + length;
    }

    private static string? ReadText(ReadOnlySpan<byte> span, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(span[at..]);
        at += 4;
        if (length < 0) return null;
        var text = Encoding.UTF8.GetString(span.Slice(at, length));
        at += length;
        return text;
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
