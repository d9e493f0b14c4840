using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The distributed chat store: MongoDB. Unique indexes — messages(_id = id), (conv, cseq),
/// inbox(user, seq), (user, msgId), sends(from, device, req) — make every write idempotent
/// without multi-document transactions (docs/data-model.md). The conversation index and the read and delivered
/// positions are documents unique by (user, conv) whose updates only move forward.
/// </summary>
public sealed class MongoChatStore : IChatStore
{
    /// <summary>Collection names; the same words as the PostgreSQL tables.</summary>
    public const string Messages = "messages", Inbox = "inbox", Cursors = "cursors", Sends = "sends",
        Conversations = "conversations", ReadPositions = "read_positions", DeliveredPositions = "delivered_positions";

    // A batch that meets a duplicate key is resolved against storage and written again; a third
    // conflict in a row means two writers race for one conversation or inbox, which is a fault.
    private const int MaxWriteAttempts = 3;

    private readonly IMongoCollection<BsonDocument> _messages;
    private readonly IMongoCollection<BsonDocument> _inbox;
    private readonly IMongoCollection<BsonDocument> _cursors;
    private readonly IMongoCollection<BsonDocument> _sends;
    private readonly IMongoCollection<BsonDocument> _conversations;
    private readonly IMongoCollection<BsonDocument> _reads;
    private readonly IMongoCollection<BsonDocument> _delivered;
    private readonly TimeSpan _sendRecordRetention;

    // Heads are cached because this process is the single writer of the conversations and inboxes it
    // owns. A cached head is updated only after the write that moved it succeeded and is dropped after
    // any failed write, since a failed bulk insert may have stored a prefix of its documents.
    private readonly ConcurrentDictionary<string, long> _conversationHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _inboxHeads = new(StringComparer.Ordinal);

    /// <param name="database">The database holding the four collections.</param>
    /// <param name="sendRecordRetention">TTL of send dedup records (StorageOptions.SendDedupRetention).</param>
    public MongoChatStore(IMongoDatabase database, TimeSpan sendRecordRetention)
    {
        _messages = database.GetCollection<BsonDocument>(Messages);
        _inbox = database.GetCollection<BsonDocument>(Inbox);
        _cursors = database.GetCollection<BsonDocument>(Cursors);
        _sends = database.GetCollection<BsonDocument>(Sends);
        _conversations = database.GetCollection<BsonDocument>(Conversations);
        _reads = database.GetCollection<BsonDocument>(ReadPositions);
        _delivered = database.GetCollection<BsonDocument>(DeliveredPositions);
        _sendRecordRetention = sendRecordRetention;
    }

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        // createIndexes creates a missing collection and is a no-op for an index that exists as specified.
        await _messages.Indexes.CreateOneAsync(
            Unique("ux_messages_conv_cseq", Keys.Ascending("conv").Ascending("cseq")), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _inbox.Indexes.CreateManyAsync(
            [Unique("ux_inbox_user_seq", Keys.Ascending("user").Ascending("seq")), Unique("ux_inbox_user_msg", Keys.Ascending("user").Ascending("msgId"))],
            cancellationToken).ConfigureAwait(false);
        await _cursors.Indexes.CreateOneAsync(
            Unique("ux_cursors_user_device", Keys.Ascending("user").Ascending("device")), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _sends.Indexes.CreateOneAsync(
            Unique("ux_sends_from_device_req", Keys.Ascending("from").Ascending("device").Ascending("req")), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _conversations.Indexes.CreateManyAsync(
            [Unique("ux_conversations_user_conv", Keys.Ascending("user").Ascending("conv")),
             new CreateIndexModel<BsonDocument>(Keys.Ascending("user").Descending("ts"), new CreateIndexOptions { Name = "ix_conversations_user_ts" })],
            cancellationToken).ConfigureAwait(false);
        await _reads.Indexes.CreateOneAsync(
            Unique("ux_read_positions_user_conv", Keys.Ascending("user").Ascending("conv")), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _delivered.Indexes.CreateOneAsync(
            Unique("ux_delivered_positions_user_conv", Keys.Ascending("user").Ascending("conv")), cancellationToken: cancellationToken).ConfigureAwait(false);
        await EnsureSendRecordTtlAsync(cancellationToken).ConfigureAwait(false);
    }

    private const string SendTtlIndex = "ttl_sends_createdAt";

    private async Task EnsureSendRecordTtlAsync(CancellationToken cancellationToken)
    {
        var ttl = new CreateIndexModel<BsonDocument>(Keys.Ascending("createdAt"),
            new CreateIndexOptions { Name = SendTtlIndex, ExpireAfter = _sendRecordRetention });
        try
        {
            await _sends.Indexes.CreateOneAsync(ttl, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (MongoCommandException e) when (e.Code == IndexOptionsConflict)
        {
            // The retention changed since the index was made: adjust the TTL in place.
            var collMod = new BsonDocument
            {
                { "collMod", Sends },
                { "index", new BsonDocument { { "name", SendTtlIndex }, { "expireAfterSeconds", (long)_sendRecordRetention.TotalSeconds } } },
            };
            await _sends.Database.RunCommandAsync<BsonDocument>(collMod, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private const int IndexOptionsConflict = 85;

    private static IndexKeysDefinitionBuilder<BsonDocument> Keys => Builders<BsonDocument>.IndexKeys;

    private static CreateIndexModel<BsonDocument> Unique(string name, IndexKeysDefinition<BsonDocument> keys) =>
        new(keys, new CreateIndexOptions { Name = name, Unique = true });

    public async ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default)
    {
        if (candidates.Count == 0) return [];
        var results = new SendRecord?[candidates.Count];
        // A key twice in one batch: the first candidate is the one reserved, as if they came one after another.
        var firstOfKey = new Dictionary<(string, string, long), int>();
        var pending = new List<int>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (firstOfKey.TryAdd(SendKey(candidates[i]), i)) pending.Add(i);
        }

        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            // Reservations are independent of one another, so the insert is unordered: one duplicate
            // does not hold back the rest of the batch.
            var duplicates = new List<int>();
            try
            {
                await _sends.InsertManyAsync(pending.Select(i => ToDocument(candidates[i])),
                    new InsertManyOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
            }
            catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
            {
                duplicates.AddRange(e.WriteErrors.Select(error => pending[error.Index]));
            }
            foreach (var i in pending.Except(duplicates)) results[i] = candidates[i];
            if (duplicates.Count == 0) break;

            var earlier = await FindSendsAsync(duplicates.Select(i => candidates[i]), cancellationToken).ConfigureAwait(false);
            pending.Clear();
            foreach (var i in duplicates)
            {
                if (earlier.TryGetValue(SendKey(candidates[i]), out var record)) results[i] = record;
                else pending.Add(i); // expired between the insert and the read: reserve it again
            }
            if (pending.Count > 0 && attempt == MaxWriteAttempts)
                throw new InvalidOperationException("Send records kept expiring while being reserved.");
        }

        for (var i = 0; i < candidates.Count; i++) results[i] ??= results[firstOfKey[SendKey(candidates[i])]];
        return results!;
    }

    private static (string, string, long) SendKey(SendRecord r) => (r.From, r.Device, r.Req);

    private async Task<Dictionary<(string, string, long), SendRecord>> FindSendsAsync(IEnumerable<SendRecord> keys, CancellationToken cancellationToken)
    {
        var filter = new BsonDocument("$or", new BsonArray(keys.Select(k =>
            new BsonDocument { { "from", k.From }, { "device", k.Device }, { "req", new BsonInt64(k.Req) } })));
        var found = await _sends.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(d => new SendRecord(d["from"].AsString, d["device"].AsString, d["req"].AsInt64, d["id"].AsInt64, d["conv"].AsString, d["ts"].AsInt64))
            .ToDictionary(SendKey);
    }

    private static BsonDocument ToDocument(SendRecord r) => new()
    {
        { "from", r.From }, { "device", r.Device }, { "req", new BsonInt64(r.Req) },
        { "id", new BsonInt64(r.Id) }, { "conv", r.Conv }, { "ts", new BsonInt64(r.Ts) },
        // The TTL monitor needs a BSON date; it is the same instant as ts.
        { "createdAt", new BsonDateTime(r.Ts) },
    };

    public async ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default)
    {
        // createdAt is ts as a BSON date, and it is indexed (TTL); filtering on it is "ts < olderThan".
        var result = await _sends.DeleteManyAsync(new BsonDocument("createdAt", new BsonDocument("$lt", new BsonDateTime(olderThan))), cancellationToken)
            .ConfigureAwait(false);
        return result.DeletedCount;
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
    {
        if (accepted.Count == 0) return [];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // The first attempt assumes a fresh batch (the common case) and costs one round trip;
                // a duplicate key means some of it was stored before, so later attempts look first.
                return await TryAppendMessagesAsync(accepted, lookUpStored: attempt > 1, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                foreach (var m in accepted) _conversationHeads.TryRemove(m.Conv, out _);
                if (e is not MongoBulkWriteException<BsonDocument> bulk || !OnlyDuplicateKeys(bulk) || attempt == MaxWriteAttempts) throw;
            }
        }
    }

    private async Task<IReadOnlyList<ChatMessage>> TryAppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, bool lookUpStored, CancellationToken cancellationToken)
    {
        var known = lookUpStored ? await StoredCseqsAsync(accepted, cancellationToken).ConfigureAwait(false) : [];
        var heads = await HeadsAsync(_conversationHeads, _messages, "conv", "cseq",
            accepted.Where(m => !known.ContainsKey(m.Id)).Select(m => m.Conv), cancellationToken).ConfigureAwait(false);

        var result = new ChatMessage[accepted.Count];
        var inserts = new List<BsonDocument>(accepted.Count);
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < accepted.Count; i++)
        {
            var m = accepted[i];
            if (!known.TryGetValue(m.Id, out var cseq))
            {
                cseq = heads[m.Conv] + 1;
                heads[m.Conv] = moved[m.Conv] = cseq;
                known[m.Id] = cseq;
                inserts.Add(ToDocument(m, cseq));
            }
            result[i] = new ChatMessage(m.Id, m.Conv, cseq, m.Ope, m.From, m.To, m.Type, m.Body, m.Ex, m.Ts);
        }

        // Ordered: a failure leaves a stored prefix, so no conversation is left with a hole in its cseqs.
        if (inserts.Count > 0)
            await _messages.InsertManyAsync(inserts, new InsertManyOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
        foreach (var (conv, head) in moved) _conversationHeads[conv] = head;
        return result;
    }

    private async Task<Dictionary<long, long>> StoredCseqsAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken)
    {
        var ids = new BsonArray(accepted.Select(m => new BsonInt64(m.Id)).Distinct());
        var stored = await _messages.Find(new BsonDocument("_id", new BsonDocument("$in", ids)))
            .Project(new BsonDocument { { "_id", 1 }, { "cseq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return stored.ToDictionary(d => d["_id"].AsInt64, d => d["cseq"].AsInt64);
    }

    private static BsonDocument ToDocument(MessageAccepted m, long cseq) => new()
    {
        { "_id", new BsonInt64(m.Id) }, { "conv", m.Conv }, { "cseq", new BsonInt64(cseq) }, { "ope", m.Ope },
        { "from", m.From }, { "to", m.To }, { "type", m.Type },
        // Opaque to the store and kept byte for byte as the client's JSON (docs/data-model.md).
        { "body", m.Body.GetRawText() }, { "ex", m.Ex is { } ex ? ex.GetRawText() : BsonNull.Value },
        { "ts", new BsonInt64(m.Ts) },
    };

    public async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return [];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryAppendInboxAsync(appends, lookUpStored: attempt > 1, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                foreach (var a in appends) _inboxHeads.TryRemove(a.User, out _);
                if (e is not MongoBulkWriteException<BsonDocument> bulk || !OnlyDuplicateKeys(bulk) || attempt == MaxWriteAttempts) throw;
            }
        }
    }

    private async Task<IReadOnlyList<InboxEntry>> TryAppendInboxAsync(IReadOnlyList<InboxAppend> appends, bool lookUpStored, CancellationToken cancellationToken)
    {
        var known = lookUpStored ? await StoredSeqsAsync(appends, cancellationToken).ConfigureAwait(false) : [];
        var heads = await HeadsAsync(_inboxHeads, _inbox, "user", "seq",
            appends.Where(a => !known.ContainsKey((a.User, a.Message.Id))).Select(a => a.User), cancellationToken).ConfigureAwait(false);

        var result = new InboxEntry[appends.Count];
        var inserts = new List<BsonDocument>(appends.Count);
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < appends.Count; i++)
        {
            var a = appends[i];
            if (known.TryGetValue((a.User, a.Message.Id), out var stored))
            {
                result[i] = new InboxEntry(a.User, stored, a.Message, IsNew: false);
                continue;
            }
            var seq = heads[a.User] + 1;
            heads[a.User] = moved[a.User] = seq;
            known[(a.User, a.Message.Id)] = seq;
            inserts.Add(new BsonDocument
            {
                { "user", a.User }, { "seq", new BsonInt64(seq) }, { "msgId", new BsonInt64(a.Message.Id) },
                { "conv", a.Message.Conv }, { "cseq", new BsonInt64(a.Message.Cseq) },
            });
            result[i] = new InboxEntry(a.User, seq, a.Message);
        }

        // Ordered for the same reason as messages: a failure must not leave a hole in a user's seqs.
        if (inserts.Count > 0)
            await _inbox.InsertManyAsync(inserts, new InsertManyOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
        foreach (var (user, head) in moved) _inboxHeads[user] = head;
        return result;
    }

    private async Task<Dictionary<(string, long), long>> StoredSeqsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken)
    {
        var filter = new BsonDocument("$or", new BsonArray(appends.GroupBy(a => a.User, StringComparer.Ordinal).Select(g => new BsonDocument
        {
            { "user", g.Key },
            { "msgId", new BsonDocument("$in", new BsonArray(g.Select(a => new BsonInt64(a.Message.Id)).Distinct())) },
        })));
        var stored = await _inbox.Find(filter).Project(new BsonDocument { { "_id", 0 }, { "user", 1 }, { "msgId", 1 }, { "seq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return stored.ToDictionary(d => (d["user"].AsString, d["msgId"].AsInt64), d => d["seq"].AsInt64);
    }

    /// <summary>The current head of each key: from the cache, else the highest stored sequence (read in parallel).</summary>
    private static async Task<Dictionary<string, long>> HeadsAsync(ConcurrentDictionary<string, long> cache, IMongoCollection<BsonDocument> collection,
        string keyField, string seqField, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var heads = new Dictionary<string, long>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var key in keys)
        {
            if (heads.ContainsKey(key)) continue;
            if (cache.TryGetValue(key, out var cached)) heads[key] = cached;
            else if (!missing.Contains(key, StringComparer.Ordinal)) missing.Add(key);
        }
        var read = await Task.WhenAll(missing.Select(key => StoredHeadAsync(collection, keyField, key, seqField, cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < missing.Count; i++) heads[missing[i]] = read[i];
        return heads;
    }

    // Walks the unique (key, seq) index backwards: one index entry, no scan.
    private static async Task<long> StoredHeadAsync(IMongoCollection<BsonDocument> collection, string keyField, string key, string seqField, CancellationToken cancellationToken)
    {
        var top = await collection.Find(new BsonDocument(keyField, key))
            .Sort(new BsonDocument(seqField, -1)).Limit(1)
            .Project(new BsonDocument { { "_id", 0 }, { seqField, 1 } })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return top?[seqField].AsInt64 ?? 0;
    }

    private static bool OnlyDuplicateKeys(MongoBulkWriteException<BsonDocument> e) =>
        e.WriteConcernError is null && e.WriteErrors.Count > 0 && e.WriteErrors.All(error => error.Category == ServerErrorCategory.DuplicateKey);

    public async ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default) =>
        _inboxHeads.TryGetValue(user, out var cached) ? cached
            : await StoredHeadAsync(_inbox, "user", user, "seq", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0) return [];
        var entries = await _inbox.Find(new BsonDocument { { "user", user }, { "seq", new BsonDocument("$gt", new BsonInt64(after)) } })
            .Sort(new BsonDocument("seq", 1)).Limit(limit)
            .Project(new BsonDocument { { "_id", 0 }, { "seq", 1 }, { "msgId", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0) return [];

        // The inbox holds references (write diffusion copies an entry, not the message): one more query joins them.
        var ids = new BsonArray(entries.Select(e => e["msgId"]).Distinct());
        var messages = (await _messages.Find(new BsonDocument("_id", new BsonDocument("$in", ids))).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(ToMessage).ToDictionary(m => m.Id);
        var result = new List<InboxEntry>(entries.Count);
        foreach (var e in entries)
        {
            if (messages.TryGetValue(e["msgId"].AsInt64, out var message)) result.Add(new InboxEntry(user, e["seq"].AsInt64, message));
        }
        return result;
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0) return [];
        var (range, direction) = after is { } a
            ? (new BsonDocument("$gt", new BsonInt64(a)), 1)
            : (new BsonDocument("$lt", new BsonInt64(before ?? long.MaxValue)), -1);
        var documents = await _messages.Find(new BsonDocument { { "conv", conv }, { "cseq", range } })
            .Sort(new BsonDocument("cseq", direction)).Limit(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var messages = documents.Select(ToMessage).ToList();
        if (direction < 0) messages.Reverse();
        return messages;
    }

    public async ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        var cursor = await _cursors.Find(new BsonDocument { { "user", user }, { "device", device } })
            .Project(new BsonDocument { { "_id", 0 }, { "seq", 1 } })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return cursor?["seq"].AsInt64;
    }

    public async ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default)
    {
        var filter = new BsonDocument { { "user", user }, { "device", device } };
        var update = new BsonDocument("$max", new BsonDocument("seq", new BsonInt64(seq)));
        try
        {
            await _cursors.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
        {
            // Two first acks of one device raced to insert its cursor; the loser now finds it and applies $max.
            await _cursors.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0) return;
        var rows = appends.GroupBy(a => (a.User, a.Message.Conv)).ToList();
        var filter = new BsonDocument("$or", new BsonArray(rows.Select(r => new BsonDocument { { "user", r.Key.User }, { "conv", r.Key.Conv } })));
        var stored = (await _conversations.Find(filter).Project(new BsonDocument { { "_id", 0 }, { "user", 1 }, { "conv", 1 }, { "lastCseq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false))
            .ToDictionary(d => (d["user"].AsString, d["conv"].AsString), d => d["lastCseq"].AsInt64);

        var activity = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var user in rows.Select(r => r.Key.User).Distinct(StringComparer.Ordinal))
        {
            var latest = await _conversations.Find(new BsonDocument("user", user)).Sort(new BsonDocument("ts", -1)).Limit(1)
                .Project(new BsonDocument { { "_id", 0 }, { "ts", 1 } }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            activity[user] = latest?["ts"].AsInt64 ?? 0;
        }

        var updates = new List<WriteModel<BsonDocument>>(rows.Count);
        // In the order the rows' last messages came, so each user's activity (ts) rises with them and stays unique.
        var lastAt = new Dictionary<(string, string), int>();
        for (var i = 0; i < appends.Count; i++) lastAt[(appends[i].User, appends[i].Message.Conv)] = i;
        foreach (var row in rows.OrderBy(r => lastAt[r.Key]))
        {
            var last = stored.GetValueOrDefault(row.Key);
            var newer = row.Where(a => a.Message.Cseq > last).ToList();
            if (newer.Count == 0) continue;
            var top = newer.MaxBy(a => a.Message.Cseq)!.Message;
            var ts = activity[row.Key.User] = Math.Max(top.Ts, activity[row.Key.User] + 1);
            var others = newer.DistinctBy(a => a.Message.Cseq).Count(a => a.Message.From != row.Key.User && a.Message.Type >= 0);
            // The filter on lastCseq makes a concurrent or replayed update a duplicate key on upsert, never a double count.
            updates.Add(new UpdateOneModel<BsonDocument>(
                new BsonDocument { { "user", row.Key.User }, { "conv", row.Key.Conv }, { "lastCseq", new BsonDocument("$lt", new BsonInt64(top.Cseq)) } },
                new BsonDocument
                {
                    { "$set", new BsonDocument { { "lastCseq", new BsonInt64(top.Cseq) }, { "ts", new BsonInt64(ts) } } },
                    { "$inc", new BsonDocument("others", new BsonInt64(others)) },
                }) { IsUpsert = true });
        }
        if (updates.Count == 0) return;
        try
        {
            await _conversations.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (OnlyDuplicateKeys(e))
        {
            // Those rows were already at or past their message.
        }
    }

    public async ValueTask<IReadOnlyList<ConversationEntry>> ListConversationsAsync(string user, long? before, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0) return [];
        var rows = await _conversations.Find(new BsonDocument { { "user", user }, { "ts", new BsonDocument("$lt", new BsonInt64(before ?? long.MaxValue)) } })
            .Sort(new BsonDocument("ts", -1)).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0) return [];
        var convs = new BsonArray(rows.Select(r => r["conv"]));
        var reads = (await _reads.Find(new BsonDocument { { "user", user }, { "conv", new BsonDocument("$in", convs) } }).ToListAsync(cancellationToken).ConfigureAwait(false))
            .ToDictionary(d => d["conv"].AsString);
        var messages = (await _messages.Find(new BsonDocument("$or", new BsonArray(rows.Select(r => new BsonDocument { { "conv", r["conv"] }, { "cseq", r["lastCseq"] } }))))
            .ToListAsync(cancellationToken).ConfigureAwait(false)).Select(ToMessage).ToDictionary(m => (m.Conv, m.Cseq));
        var entries = new List<ConversationEntry>(rows.Count);
        foreach (var row in rows)
        {
            var conv = row["conv"].AsString;
            if (!messages.TryGetValue((conv, row["lastCseq"].AsInt64), out var last)) continue;
            var read = reads.GetValueOrDefault(conv);
            entries.Add(new ConversationEntry(new ConversationState(user, conv, last.Cseq, row["ts"].AsInt64, row["others"].AsInt64,
                read?["cseq"].AsInt64 ?? 0, read?["othersAt"].AsInt64 ?? 0), last));
        }
        return entries;
    }

    public async ValueTask<ConversationState> GetConversationAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var key = new BsonDocument { { "user", user }, { "conv", conv } };
        var row = await _conversations.Find(key).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var read = await _reads.Find(key).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return new ConversationState(user, conv, row?["lastCseq"].AsInt64 ?? 0, row?["ts"].AsInt64 ?? 0, row?["others"].AsInt64 ?? 0,
            read?["cseq"].AsInt64 ?? 0, read?["othersAt"].AsInt64 ?? 0);
    }

    public async ValueTask<bool> AdvanceReadAsync(string user, string conv, long cseq, long othersAtRead, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await _reads.UpdateOneAsync(
                new BsonDocument { { "user", user }, { "conv", conv }, { "cseq", new BsonDocument("$lt", new BsonInt64(cseq)) } },
                new BsonDocument("$set", new BsonDocument { { "cseq", new BsonInt64(cseq) }, { "othersAt", new BsonInt64(othersAtRead) } }),
                new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
            return result.ModifiedCount > 0 || result.UpsertedId is not null;
        }
        catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
        {
            return false; // already at or past cseq
        }
    }

    public async ValueTask<IReadOnlyList<ConversationPosition>> AdvanceDeliveredAsync(string user, IReadOnlyList<ConversationPosition> positions, CancellationToken cancellationToken = default)
    {
        var moved = new List<ConversationPosition>(positions.Count);
        foreach (var position in positions)
        {
            try
            {
                var result = await _delivered.UpdateOneAsync(
                    new BsonDocument { { "user", user }, { "conv", position.Conv }, { "cseq", new BsonDocument("$lt", new BsonInt64(position.Cseq)) } },
                    new BsonDocument("$set", new BsonDocument("cseq", new BsonInt64(position.Cseq))),
                    new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
                if (result.ModifiedCount > 0 || result.UpsertedId is not null) moved.Add(position);
            }
            catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
            {
            }
        }
        return moved;
    }

    public async ValueTask<IReadOnlyList<ReceiptPosition>> GetReceiptsAsync(string conv, IReadOnlyList<string> users, CancellationToken cancellationToken = default)
    {
        var filter = new BsonDocument { { "conv", conv }, { "user", new BsonDocument("$in", new BsonArray(users)) } };
        var delivered = (await _delivered.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        var read = (await _reads.Find(filter).ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d["user"].AsString, d => d["cseq"].AsInt64);
        return [.. users.Select(u => new ReceiptPosition(u, delivered.GetValueOrDefault(u), read.GetValueOrDefault(u)))];
    }

    public async ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        var entries = await _inbox.Find(new BsonDocument { { "user", user }, { "seq", new BsonDocument { { "$gt", new BsonInt64(after) }, { "$lte", new BsonInt64(through) } } } })
            .Project(new BsonDocument { { "_id", 0 }, { "conv", 1 }, { "cseq", 1 } })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. entries.GroupBy(e => e["conv"].AsString).Select(g => new ConversationPosition(g.Key, g.Max(e => e["cseq"].AsInt64)))];
    }

    private static ChatMessage ToMessage(BsonDocument d) => new(
        d["_id"].AsInt64, d["conv"].AsString, d["cseq"].AsInt64, d["ope"].AsInt32, d["from"].AsString, d["to"].AsString,
        d["type"].AsInt32, ParseJson(d["body"].AsString), d["ex"].IsBsonNull ? null : ParseJson(d["ex"].AsString), d["ts"].AsInt64);

    private static JsonElement ParseJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
