using System.Buffers.Binary;
using System.Text;
using AspireChat.Messaging.Conversations;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Storage;

/// <summary>Conversation timelines on RocksDB: the <c>C</c> (conv, cseq) records that <see cref="RocksDbChatStoreBatch"/> writes.</summary>
public sealed class RocksDbTimelineStore(RocksDbDatabase database) : ITimelineStore
{
    private readonly RocksDbDatabase _database = database;

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
            messages.Add(RocksDbMessageCodec.Decode(conv, cseq, value));
        }
        if (after is null) messages.Reverse();
        return ValueTask.FromResult<IReadOnlyList<ChatMessage>>(messages);
    }

    public ValueTask<ChatMessage?> GetMessageAsync(string conv, long id, CancellationToken cancellationToken = default)
    {
        // M id → (cseq, conv): the message is found only in the conversation it belongs to.
        if (_database.Get(new KeyBuilder(MessageId, 9).Number(id).ToArray()) is not { } index
            || Encoding.UTF8.GetString(index.AsSpan(8)) != conv
            || _database.Get(ConversationKey(conv, BinaryPrimitives.ReadInt64BigEndian(index))) is not { } stored)
            return ValueTask.FromResult<ChatMessage?>(null);
        return ValueTask.FromResult<ChatMessage?>(RocksDbMessageCodec.Decode(conv, BinaryPrimitives.ReadInt64BigEndian(index), stored));
    }
}
