using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;
using static AspireChat.Messaging.Storage.MongoChatDocuments;

namespace AspireChat.Messaging.Storage;

/// <summary>Inboxes in MongoDB (<c>inbox</c>, unique by (user, seq) and (user, msgId)); stage 2 appends through <see cref="MongoChatStore.BeginBatch"/>.</summary>
public sealed class MongoInboxStore(IMongoDatabase database, SequenceHeads heads) : IInboxStore
{
    private readonly IMongoCollection<BsonDocument> _inbox = database.GetCollection<BsonDocument>(MongoChatStore.Inbox);
    private readonly IMongoCollection<BsonDocument> _messages = database.GetCollection<BsonDocument>(MongoChatStore.Messages);

    /// <summary>Stage 2's write (<see cref="IChatWrites.AppendInboxAsync"/>).</summary>
    internal async ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default)
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
                heads.Inboxes.Failed(appends.Select(a => a.User));
                if (e is not MongoBulkWriteException<BsonDocument> bulk || !OnlyDuplicateKeys(bulk) || attempt == MaxWriteAttempts) throw;
            }
        }
    }

    private async Task<IReadOnlyList<InboxEntry>> TryAppendInboxAsync(IReadOnlyList<InboxAppend> appends, bool lookUpStored, CancellationToken cancellationToken)
    {
        var epoch = heads.Inboxes.Epoch;
        var known = lookUpStored ? await StoredSeqsAsync(appends, cancellationToken).ConfigureAwait(false) : [];
        var next = await HeadsAsync(heads.Inboxes, _inbox, "user", "seq",
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
            var seq = next[a.User] + 1;
            next[a.User] = moved[a.User] = seq;
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
        heads.Inboxes.Committed(epoch, moved);
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

    // Storage, never the writer's cache (SequenceHeads): this process may not be the writer of the user's inbox.
    public async ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default) =>
        await StoredHeadAsync(_inbox, "user", user, "seq", cancellationToken).ConfigureAwait(false);

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

    /// <summary>One aggregation: the server groups the range by conversation, so only one document per conversation travels.</summary>
    public async ValueTask<IReadOnlyList<ConversationPosition>> ReadInboxPositionsAsync(string user, long after, long through, CancellationToken cancellationToken = default)
    {
        var pipeline = new EmptyPipelineDefinition<BsonDocument>()
            .Match(new BsonDocument { { "user", user }, { "seq", new BsonDocument { { "$gt", new BsonInt64(after) }, { "$lte", new BsonInt64(through) } } } })
            .Group(new BsonDocument { { "_id", "$conv" }, { "cseq", new BsonDocument("$max", "$cseq") } });
        var positions = await (await _inbox.AggregateAsync(pipeline, cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. positions.Select(d => new ConversationPosition(d["_id"].AsString, d["cseq"].AsInt64))];
    }
}
