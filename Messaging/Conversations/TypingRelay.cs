using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// Relays <c>typing {conv}</c> to the other members' online devices as <c>typing {conv, user}</c>: never stored,
/// never retried, not in large groups (docs/protocol.md §12.8). The per-connection limit is <see cref="TypingThrottle"/>.
/// </summary>
public sealed class TypingRelay(ConversationMembership membership, DeviceSignals signals)
{
    /// <summary>Relays when <paramref name="user"/> is a member; returns the access verdict.</summary>
    public async ValueTask<ConversationAccess> RelayAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var access = await membership.CheckAsync(user, conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed || access.Large) return access;
        var frame = new TypingFrame { Conv = conv, User = user };
        foreach (var other in await membership.OthersAsync(access, user, cancellationToken).ConfigureAwait(false))
            await signals.SendAsync(other, frame, cancellationToken: cancellationToken).ConfigureAwait(false);
        return access;
    }
}
