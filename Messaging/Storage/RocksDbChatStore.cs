namespace AspireChat.Messaging.Storage;

/// <summary>
/// The embedded chat store on RocksDB (the default of <c>dotnet run --project Gateway</c>) as a unit: one database shared
/// with the group and push subscription stores, and its batches — every pipeline pass is one atomic write
/// (<see cref="RocksDbChatStoreBatch"/>): dedup records, messages with their <c>cseq</c>, inbox entries with their
/// <c>seq</c>, index rows. The ports beside it read the same database: <see cref="RocksDbTimelineStore"/>,
/// <see cref="RocksDbInboxStore"/>, <see cref="RocksDbConversationIndex"/>, <see cref="RocksDbCursorStore"/>; the key
/// layout is <see cref="RocksDbChatKeys"/>'s (docs/data-model.md).
/// </summary>
public sealed class RocksDbChatStore(RocksDbDatabase database, SequenceHeads heads) : IChatStore
{
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IChatStoreBatch BeginBatch() => new RocksDbChatStoreBatch(database, heads);
}
