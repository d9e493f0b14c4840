namespace AspireChat.Messaging.Consent;

/// <summary>
/// The consent port (DESIGN.md §3c): who blocked whom, and which conversations a user muted. A block is one-way — the
/// blocker stops hearing from the blocked user; nothing is stored about the blocked user's view. Adapters sit beside this
/// file, one per store technology; <c>Tests/Consent/ConsentStoreContract.cs</c> is the contract every adapter passes.
/// Paths that handle many users at once (typing and receipts to every member, push for every recipient) use the
/// set queries, so an adapter answers them in one round trip (or a few, in chunks) rather than one per user.
/// </summary>
public interface IConsentStore
{
    /// <summary>Creates tables or indexes; idempotent. Every host calls it before serving.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Records that <paramref name="blocker"/> blocks <paramref name="blocked"/>; false when it already did (the first time is kept).</summary>
    ValueTask<bool> BlockAsync(string blocker, string blocked, long since, CancellationToken cancellationToken = default);

    /// <summary>Removes the block; false when there was none.</summary>
    ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default);

    /// <summary>The users <paramref name="blocker"/> blocks, ordered by user id.</summary>
    ValueTask<IReadOnlyList<BlockEntry>> GetBlocksAsync(string blocker, CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="blocker"/> blocks <paramref name="blocked"/>.</summary>
    ValueTask<bool> IsBlockedAsync(string blocker, string blocked, CancellationToken cancellationToken = default);

    /// <summary>Those of <paramref name="among"/> who block <paramref name="blocked"/> (empty when none).</summary>
    ValueTask<IReadOnlySet<string>> FindBlockersAsync(string blocked, IReadOnlyCollection<string> among, CancellationToken cancellationToken = default);

    /// <summary>Mutes (or unmutes) <paramref name="conv"/> for <paramref name="user"/>; idempotent.</summary>
    ValueTask SetMutedAsync(string user, string conv, bool muted, CancellationToken cancellationToken = default);

    /// <summary>Those of <paramref name="convs"/> that <paramref name="user"/> muted (the conversation list's page).</summary>
    ValueTask<IReadOnlySet<string>> FindMutedConversationsAsync(string user, IReadOnlyCollection<string> convs, CancellationToken cancellationToken = default);

    /// <summary>Those of <paramref name="users"/> who muted <paramref name="conv"/> (the push path, for every recipient of one message).</summary>
    ValueTask<IReadOnlySet<string>> FindMutedUsersAsync(string conv, IReadOnlyCollection<string> users, CancellationToken cancellationToken = default);
}
