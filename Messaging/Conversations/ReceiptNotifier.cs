using System.Collections.Concurrent;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Conversations;

/// <summary>
/// Coalesces receipts: delivered positions from acks are gathered in memory and written in one batch per flush, like
/// device cursors (a crash loses at most one window of them; the next ack moves them again). A (conv, user) whose
/// delivered or read position moved is noted, and each flush (every
/// <see cref="Window"/>) sends one <c>receipt</c> with its current positions to the online devices of the other
/// members — however many acks and reads moved it meanwhile. One-to-one and small groups only; in a group only a
/// moved read position is sent (decision 0010): every member's acks would otherwise cost a frame to every other member.
/// A member who blocks the user gets none of its receipts (DESIGN.md §3c).
/// </summary>
public sealed class ReceiptNotifier(IConversationIndex store, ConversationMembership membership, IConsentStore consent, DeviceSignals signals)
{
    /// <summary>How long positions are gathered before their receipts go out.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    // Value: whether the read position moved (not only the delivered one).
    private readonly ConcurrentDictionary<(string Conv, string User), bool> _changed = new();

    private readonly ConcurrentDictionary<(string User, string Conv), long> _delivered = new();

    /// <summary>Notes that <paramref name="user"/>'s delivered (or, with <paramref name="read"/>, read) position in <paramref name="conv"/> moved.</summary>
    public void Changed(string conv, string user, bool read) => _changed.AddOrUpdate((conv, user), read, (_, was) => was || read);

    /// <summary>Notes that a device of <paramref name="user"/> acknowledged <paramref name="conv"/> through <paramref name="cseq"/>; written at the next flush.</summary>
    public void Delivered(string user, string conv, long cseq) => _delivered.AddOrUpdate((user, conv), cseq, (_, was) => Math.Max(was, cseq));

    /// <summary>Writes the gathered delivered positions; those that moved get a receipt.</summary>
    public async ValueTask<int> FlushDeliveredAsync(CancellationToken cancellationToken = default)
    {
        if (_delivered.IsEmpty) return 0;
        var taken = new List<(string User, string Conv, long Cseq)>(_delivered.Count);
        foreach (var key in _delivered.Keys)
        {
            if (_delivered.TryRemove(key, out var cseq)) taken.Add((key.User, key.Conv, cseq));
        }
        var written = 0;
        foreach (var byUser in taken.GroupBy(t => t.User, StringComparer.Ordinal))
        {
            IReadOnlyList<ConversationPosition> moved;
            try
            {
                moved = await store.AdvanceDeliveredAsync(byUser.Key, [.. byUser.Select(t => new ConversationPosition(t.Conv, t.Cseq))], cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Keep them all for the next flush: positions only move forward, so writing again those already written is harmless.
                foreach (var (user, conv, cseq) in taken) Delivered(user, conv, cseq);
                throw;
            }
            foreach (var position in moved) Changed(position.Conv, byUser.Key, read: false);
            written += moved.Count;
        }
        return written;
    }

    /// <summary>Sends one receipt per noted (conv, user); returns how many (conv, user) were sent.</summary>
    public async ValueTask<int> FlushAsync(CancellationToken cancellationToken = default)
    {
        await FlushDeliveredAsync(cancellationToken).ConfigureAwait(false);
        if (_changed.IsEmpty) return 0;
        var sent = 0;
        foreach (var key in _changed.Keys)
        {
            if (!_changed.TryRemove(key, out var read)) continue;
            if (!read && key.Conv.StartsWith("g:", StringComparison.Ordinal)) continue;
            var access = await membership.CheckAsync(key.User, key.Conv, cancellationToken).ConfigureAwait(false);
            if (!access.Allowed || access.Large) continue;
            var position = (await store.GetReceiptsAsync(key.Conv, [key.User], cancellationToken).ConfigureAwait(false))[0];
            var frame = new ReceiptFrame
            {
                Conv = key.Conv, User = key.User,
                Delivered = position.Delivered > 0 ? position.Delivered : null,
                Read = position.Read > 0 ? position.Read : null,
            };
            var others = await membership.OthersAsync(access, key.User, cancellationToken).ConfigureAwait(false);
            var blockers = others.Count == 0 ? null : await consent.FindBlockersAsync(key.User, others, cancellationToken).ConfigureAwait(false);
            foreach (var other in others)
            {
                if (blockers?.Contains(other) != true) await signals.SendAsync(other, frame, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            sent++;
        }
        return sent;
    }
}
