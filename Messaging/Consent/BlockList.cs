using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Consent;

/// <summary>
/// A user's block list as the HTTP API changes it (DESIGN.md §3c): checks the input and the
/// <c>Consent:MaxBlocksPerUser</c> limit, then writes through <see cref="IConsentStore"/>. Enforcement reads the store
/// directly where it happens (stage 0's send permission, group adds, typing, receipts, presence).
/// </summary>
public sealed class BlockList(IConsentStore consent, IOptions<ConsentOptions> options, TimeProvider time)
{
    /// <summary>Blocks <paramref name="blocked"/>; null when done (or already blocked), else why it was refused (a <c>400</c>).</summary>
    public async ValueTask<string?> BlockAsync(string blocker, string? blocked, CancellationToken cancellationToken = default)
    {
        if (blocked is null || !Identifiers.IsValidId(blocked)) return "'user' must be a user id ([A-Za-z0-9_.-]{1,64})";
        if (blocked == blocker) return "a user cannot block itself";
        var blocks = await consent.GetBlocksAsync(blocker, cancellationToken).ConfigureAwait(false);
        if (blocks.Any(b => b.User == blocked)) return null;
        // Checked before writing, so two concurrent requests may end one past the limit: a bound on storage, not a quota.
        if (blocks.Count >= options.Value.MaxBlocksPerUser) return $"at most {options.Value.MaxBlocksPerUser} users may be blocked; unblock one first";
        await consent.BlockAsync(blocker, blocked, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Removes the block; false when there was none.</summary>
    public ValueTask<bool> UnblockAsync(string blocker, string blocked, CancellationToken cancellationToken = default) =>
        consent.UnblockAsync(blocker, blocked, cancellationToken);

    /// <summary>The users <paramref name="blocker"/> blocks, by user id.</summary>
    public ValueTask<IReadOnlyList<BlockEntry>> GetAsync(string blocker, CancellationToken cancellationToken = default) =>
        consent.GetBlocksAsync(blocker, cancellationToken);
}
