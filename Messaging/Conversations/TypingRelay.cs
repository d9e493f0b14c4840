using AspireChat.Messaging.Consent;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// Relays <c>typing {conv}</c> to the other members' online devices as <c>typing {conv, user}</c>: never stored,
/// never retried, not in large groups (docs/protocol.md §12.8), and not to members who block the typist (DESIGN.md §3c).
/// The per-connection limit is <see cref="TypingThrottle"/>.
/// </summary>
public sealed class TypingRelay(ConversationMembership membership, IConsentStore consent, DeviceSignals signals)
{
    /// <summary>Relays when <paramref name="user"/> is a member; returns the access verdict.</summary>
    public async ValueTask<ConversationAccess> RelayAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var access = await membership.CheckAsync(user, conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed || access.Large) return access;
        var frame = new TypingFrame { Conv = conv, User = user };
        var others = await membership.OthersAsync(access, user, cancellationToken).ConfigureAwait(false);
        if (others.Count == 0) return access;
        var blockers = await consent.FindBlockersAsync(user, others, cancellationToken).ConfigureAwait(false);
        foreach (var other in others)
        {
            if (!blockers.Contains(other)) await signals.SendAsync(other, frame, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return access;
    }
}
