namespace AspireChat.Messaging.Storage;

/// <summary>
/// The sequence heads a store counts from, kept once for every engine that caches them (RocksDB, MongoDB, SQLite):
/// per conversation the highest <c>cseq</c> (<see cref="Conversations"/>), per user the highest inbox <c>seq</c>
/// (<see cref="Inboxes"/>). The rules, the same for every engine (<see cref="SequenceHeadCache"/>):
/// <list type="bullet">
/// <item>Read through: a head not cached is read from storage (the highest stored number) by the write that needs it,
/// and cached only when that write commits.</item>
/// <item>Moved only after the write that moved it committed, and not even then when the cache was forgotten while the
/// write ran (the partition may have moved meanwhile).</item>
/// <item>Dropped after a failed write: a failed write may have stored part of itself, so its keys are read again.</item>
/// <item>Forgotten whole when this process may no longer be the single writer: a partition of <c>chat.accepted</c>
/// (conversations) or <c>chat.inbox</c> (inboxes) was revoked or lost (<see cref="Log.LogPartitionsReleased"/>); its
/// next owner writes past the head cached here, and a partition that comes back must be read again.</item>
/// </list>
/// The cache serves the writer's next number only. A reader — a gateway answering a hello with
/// <see cref="IInboxStore.GetInboxHeadAsync"/>, the retry loop — always reads storage: a process that is not the
/// writer of an inbox has no right to a cached head of it, and one that is the writer holds in its cache exactly what it
/// committed, which storage returns as well.
/// </summary>
public sealed class SequenceHeads
{
    /// <summary>The highest <c>cseq</c> of each conversation this process appended to (stage 1).</summary>
    public SequenceHeadCache Conversations { get; } = new();

    /// <summary>The highest inbox <c>seq</c> of each user this process appended to (stage 2).</summary>
    public SequenceHeadCache Inboxes { get; } = new();
}
