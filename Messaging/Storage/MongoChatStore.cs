using AspireChat.Messaging.Conversations;
using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The distributed chat store: MongoDB. Unique indexes — messages(_id = id), (conv, cseq),
/// inbox(user, seq), (user, msgId), sends(from, device, req) — make every write idempotent
/// without multi-document transactions (docs/data-model.md). The conversation index and the read and delivered
/// positions are documents unique by (user, conv) whose updates only move forward. This class is the store as a unit
/// (collections, indexes, batches); the ports beside it read and write the same database: <see cref="MongoTimelineStore"/>,
/// <see cref="MongoInboxStore"/>, <see cref="MongoConversationIndex"/>, <see cref="MongoCursorStore"/>.
/// </summary>
public sealed class MongoChatStore : IChatStore
{
    /// <summary>Collection names; the same words as the PostgreSQL tables.</summary>
    public const string Messages = "messages", Inbox = "inbox", Cursors = "cursors", Sends = "sends",
        Conversations = "conversations", ReadPositions = "read_positions", DeliveredPositions = "delivered_positions";

    private readonly IMongoCollection<BsonDocument> _messages;
    private readonly IMongoCollection<BsonDocument> _inbox;
    private readonly IMongoCollection<BsonDocument> _cursors;
    private readonly IMongoCollection<BsonDocument> _sends;
    private readonly IMongoCollection<BsonDocument> _conversations;
    private readonly IMongoCollection<BsonDocument> _reads;
    private readonly IMongoCollection<BsonDocument> _delivered;
    private readonly TimeSpan _sendRecordRetention;
    private readonly Writes _writes;

    /// <param name="database">The database holding the four collections.</param>
    /// <param name="sendRecordRetention">TTL of send dedup records (StorageOptions.SendDedupRetention).</param>
    /// <param name="heads">The sequence heads the appends count from.</param>
    public MongoChatStore(IMongoDatabase database, TimeSpan sendRecordRetention, SequenceHeads heads) : this(database, sendRecordRetention, heads, null)
    {
    }

    /// <param name="betweenIndexReadAndWrite">Awaited between the read and the write of each conversation index update (tests interleave writers there).</param>
    internal MongoChatStore(IMongoDatabase database, TimeSpan sendRecordRetention, SequenceHeads heads, Func<CancellationToken, Task>? betweenIndexReadAndWrite)
    {
        _writes = new Writes(new MongoCursorStore(database), new MongoTimelineStore(database, heads), new MongoInboxStore(database, heads),
            new MongoConversationIndex(database, betweenIndexReadAndWrite), new Operations.MongoMessageStateStore(database));
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
        await Operations.MongoMessageStateStore.CreateIndexesAsync(_messages.Database, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// A batch whose writes commit as they are made: MongoDB writes here use no multi-document transactions; each write
    /// is idempotent, and nothing is acknowledged before the batch returns.
    /// </summary>
    public IChatStoreBatch BeginBatch() => new ImmediateChatStoreBatch(_writes);

    /// <summary>The pipeline's writes, each made by the adapter of the port it belongs to.</summary>
    private sealed class Writes(MongoCursorStore cursors, MongoTimelineStore timeline, MongoInboxStore inbox, MongoConversationIndex index,
        Operations.MongoMessageStateStore states) : IChatWrites
    {
        public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) =>
            cursors.ReserveSendsAsync(candidates, cancellationToken);

        public ValueTask<IReadOnlyList<SendRecord?>> FindSendsAsync(IReadOnlyList<SendRecord> keys, CancellationToken cancellationToken = default) =>
            cursors.FindSendsAsync(keys, cancellationToken);

        public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) =>
            timeline.AppendMessagesAsync(accepted, cancellationToken);

        public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
            inbox.AppendInboxAsync(appends, cancellationToken);

        public ValueTask UpdateConversationsAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) =>
            index.UpdateConversationsAsync(appends, cancellationToken);

        public ValueTask PutMessageStatesAsync(IReadOnlyList<Operations.MessageState> list, CancellationToken cancellationToken = default) =>
            states.PutAsync(list, cancellationToken);

        public ValueTask ReplaceContentAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default) =>
            timeline.ReplaceContentAsync(messages, cancellationToken);
    }
}
