using System.Buffers.Binary;
using System.Text.Json;
using AspireChat.Messaging.Storage;
using static AspireChat.Messaging.Storage.RocksDbChatKeys;

namespace AspireChat.Messaging.Operations;

/// <summary>Message states on RocksDB: <c>O</c> (conv, id) → the state as JSON, <c>K</c> (conv, pinned cseq) → id (docs/data-model.md).</summary>
public sealed class RocksDbMessageStateStore(RocksDbDatabase database) : IMessageStateStore
{
    public ValueTask<IReadOnlyDictionary<long, MessageState>> GetStatesAsync(string conv, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        var states = new Dictionary<long, MessageState>(ids.Count);
        foreach (var id in ids)
        {
            if (database.Get(StateKey(conv, id)) is { } stored) states[id] = Decode(stored);
        }
        return ValueTask.FromResult<IReadOnlyDictionary<long, MessageState>>(states);
    }

    public ValueTask<IReadOnlyList<MessageState>> GetPinnedAsync(string conv, int limit, CancellationToken cancellationToken = default)
    {
        var pinned = new List<MessageState>();
        foreach (var (_, value) in database.Scan(new KeyBuilder(Pin).Text(conv).ToArray(), reverse: true))
        {
            if (pinned.Count >= limit) break;
            if (database.Get(StateKey(conv, BinaryPrimitives.ReadInt64BigEndian(value))) is { } stored) pinned.Add(Decode(stored));
        }
        return ValueTask.FromResult<IReadOnlyList<MessageState>>(pinned);
    }

    internal static byte[] Encode(MessageState state) => JsonSerializer.SerializeToUtf8Bytes(state, MessagingJson.Default.MessageState);

    internal static MessageState Decode(byte[] stored) => JsonSerializer.Deserialize(stored, MessagingJson.Default.MessageState)!;
}
