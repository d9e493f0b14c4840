namespace AspireChat.Messaging.Storage;

/// <summary>
/// The chat store's key layout in the shared RocksDB database (docs/data-model.md), used by every RocksDB chat adapter:
/// <c>S</c> send → (id, ts, conv); <c>T</c> (ts, send) purge index; <c>M</c> id → (cseq, conv); <c>C</c> (conv, cseq) →
/// message; <c>I</c> (user, seq) → (id, cseq, conv); <c>J</c> (user, id) → seq; <c>D</c> (user, device) → cursor;
/// <c>V</c> (user, conv) → index row (last cseq, activity, others' count); <c>L</c> (user, activity, conv) the index by
/// last activity; <c>R</c> (user, conv) → read (cseq, others' count at it); <c>E</c> (user, conv) → delivered cseq;
/// <c>O</c> (conv, id) → a message's state after its operations (JSON); <c>K</c> (conv, pinned cseq) → id, the pins.
/// </summary>
internal static class RocksDbChatKeys
{
    public const byte Send = (byte)'S', SendTime = (byte)'T', MessageId = (byte)'M', Conversation = (byte)'C',
        Inbox = (byte)'I', InboxMessage = (byte)'J', Cursor = (byte)'D', ConversationRow = (byte)'V', ConversationByTime = (byte)'L',
        ReadPosition = (byte)'R', DeliveredPosition = (byte)'E', MessageState = (byte)'O', Pin = (byte)'K';

    public static byte[] StateKey(string conv, long id) => new KeyBuilder(MessageState).Text(conv).Number(id).ToArray();

    public static byte[] PinKey(string conv, long cseq) => new KeyBuilder(Pin).Text(conv).Number(cseq).ToArray();

    public static byte[] PositionKey(byte kind, string user, string conv) => new KeyBuilder(kind).Text(user).Text(conv).ToArray();

    public static byte[] ConversationKey(string conv, long cseq) => new KeyBuilder(Conversation).Text(conv).Number(cseq).ToArray();

    public static byte[] CursorKey(string user, string device) => new KeyBuilder(Cursor).Text(user).Text(device).ToArray();

    /// <summary>The stored head of a conversation: its highest <c>cseq</c> (one reverse seek).</summary>
    public static long StoredConversationHead(RocksDbDatabase database, string conv) => LastNumberUnder(database, new KeyBuilder(Conversation).Text(conv).ToArray());

    /// <summary>The stored head of an inbox: the user's highest <c>seq</c> (one reverse seek).</summary>
    public static long StoredInboxHead(RocksDbDatabase database, string user) => LastNumberUnder(database, new KeyBuilder(Inbox).Text(user).ToArray());

    private static long LastNumberUnder(RocksDbDatabase database, byte[] prefix)
    {
        foreach (var (key, _) in database.Scan(prefix, reverse: true)) return KeyBuilder.LastNumber(key);
        return 0;
    }
}
