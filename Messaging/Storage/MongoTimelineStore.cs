using System.Text.Json;
using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;
using static AspireChat.Messaging.Storage.MongoChatDocuments;

namespace AspireChat.Messaging.Storage;

/// <summary>Conversation timelines in MongoDB (<c>messages</c>, unique by id and by (conv, cseq)); stage 1 appends through <see cref="MongoChatStore.BeginBatch"/>.</summary>
public sealed class MongoTimelineStore(IMongoDatabase database, SequenceHeads heads) : ITimelineStore
{
    private readonly IMongoCollection<BsonDocument> _messages = database.GetCollection<BsonDocument>(MongoChatStore.Messages);

    /// <summary>Stage 1's write (<see cref="IChatWrites.AppendMessagesAsync"/>).</summary>
    internal async ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default)
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
                heads.Conversations.Failed(accepted.Select(m => m.Conv));
                if (e is not MongoBulkWriteException<BsonDocument> bulk || !OnlyDuplicateKeys(bulk) || attempt == MaxWriteAttempts) throw;
            }
        }
    }

    private async Task<IReadOnlyList<ChatMessage>> TryAppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, bool lookUpStored, CancellationToken cancellationToken)
    {
        var epoch = heads.Conversations.Epoch;
        var held = lookUpStored ? await StoredMessagesAsync(accepted, cancellationToken).ConfigureAwait(false) : [];
        var next = await HeadsAsync(heads.Conversations, _messages, "conv", "cseq",
            accepted.Where(m => !held.ContainsKey(m.Id)).Select(m => m.Conv), cancellationToken).ConfigureAwait(false);

        var result = new ChatMessage[accepted.Count];
        var inserts = new List<BsonDocument>(accepted.Count);
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < accepted.Count; i++)
        {
            var m = accepted[i];
            // A message stored before (a replay, a retransmission) goes on as stored — erased if it was recalled since.
            if (!held.TryGetValue(m.Id, out var message))
            {
                var cseq = next[m.Conv] + 1;
                next[m.Conv] = moved[m.Conv] = cseq;
                held[m.Id] = message = ChatMessage.Sequenced(m, cseq);
                inserts.Add(ToDocument(m, cseq));
            }
            result[i] = message;
        }

        // Ordered: a failure leaves a stored prefix, so no conversation is left with a hole in its cseqs.
        if (inserts.Count > 0)
            await _messages.InsertManyAsync(inserts, new InsertManyOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
        heads.Conversations.Committed(epoch, moved);
        return result;
    }

    private async Task<Dictionary<long, ChatMessage>> StoredMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken)
    {
        var ids = new BsonArray(accepted.Select(m => new BsonInt64(m.Id)).Distinct());
        var stored = await _messages.Find(new BsonDocument("_id", new BsonDocument("$in", ids))).ToListAsync(cancellationToken).ConfigureAwait(false);
        return stored.ToDictionary(d => d["_id"].AsInt64, ToMessage);
    }

    private static BsonDocument ToDocument(MessageAccepted m, long cseq) => new()
    {
        { "_id", new BsonInt64(m.Id) }, { "conv", m.Conv }, { "cseq", new BsonInt64(cseq) }, { "ope", m.Ope },
        { "from", m.From }, { "to", m.To }, { "type", m.Type },
        // Opaque to the store and kept byte for byte as the client's JSON (docs/data-model.md).
        { "body", m.Body.GetRawText() }, { "ex", m.Ex is { } ex ? ex.GetRawText() : BsonNull.Value },
        { "ts", new BsonInt64(m.Ts) },
        { "reply", m.Reply is { } reply ? new BsonInt64(reply) : BsonNull.Value },
        { "mentions", m.Mentions is { } mentions ? new BsonArray(mentions) : BsonNull.Value },
    };

    public async ValueTask<ChatMessage?> GetMessageAsync(string conv, long id, CancellationToken cancellationToken = default)
    {
        var document = await _messages.Find(new BsonDocument { { "_id", new BsonInt64(id) }, { "conv", conv } }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return document is null ? null : ToMessage(document);
    }

    /// <summary>A recall's erasure (<see cref="IChatWrites.ReplaceContentAsync"/>): one unordered bulk write.</summary>
    internal async ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0) return;
        var updates = messages.Select(m => new UpdateOneModel<BsonDocument>(
            new BsonDocument { { "conv", m.Conv }, { "cseq", new BsonInt64(m.Cseq) } },
            new BsonDocument("$set", new BsonDocument { { "body", m.Body.GetRawText() }, { "ex", m.Ex is { } ex ? ex.GetRawText() : BsonNull.Value } })));
        await _messages.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
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
}
