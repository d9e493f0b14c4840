using System.Collections.Concurrent;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// One device's hand-over of inbox entries to its connection. Live pushes (stage 2), the backlog after hello, window
/// refills after acks and re-pushes past a deadline all pass through here, one at a time (a turn), and every entry is
/// claimed in <see cref="IPendingAcks"/> in the same turn that writes it — so the device gets its inbox in <c>seq</c>
/// order without a reordering buffer, whatever order the routes deliver in (decision 0011):
/// <list type="bullet">
/// <item>a new entry at the next seq is claimed and written; one the window has no room for waits for the next ack;</item>
/// <item>a new entry past the next seq (a gap: earlier ones were not written) makes the turn claim and read the backlog
/// from the store instead, which includes it;</item>
/// <item>a new entry below the next seq was already written (by a backlog read that overtook its live copy): dropped;</item>
/// <item>a re-push below the next seq is written again: the device has not acknowledged it.</item>
/// </list>
/// The device's own send whose <c>ack</c> carried its <c>seq</c> (embedded composition) is claimed like any live entry;
/// the session's write leaves it out, since that ack was its push.
/// </summary>
public sealed class InboxHandover
{
    private readonly string _user;
    private readonly string _device;
    private readonly InboxClaims _claims;
    private readonly Action<InboxEntry> _write;
    private readonly Action<Exception> _failed;
    // Held from construction until OpenAsync: live entries that arrive before the hello's backlog wait their turn.
    private readonly SemaphoreSlim _turn = new(0, 1);
    private ConcurrentQueue<(IReadOnlyList<InboxEntry> Entries, bool Redelivery)>? _waiting;
    // The next seq to hand over: every entry below it was claimed (or acknowledged) and written.
    private long _next;
    // The entries handed over and not yet acknowledged, in seq order (at most the window and the device's own sends):
    // an ack learns the conversations it covers from here instead of reading the inbox again.
    private readonly Queue<Conversations.ConversationPosition> _unacked = new();
    private long _unackedFrom, _unackedTo;

    /// <param name="write">Writes one entry to the device's connection.</param>
    /// <param name="failed">Told when a live turn failed (a backing service): the entries it could not claim reach the
    /// device with the next refill or reconnect.</param>
    public InboxHandover(string user, string device, InboxClaims claims, Action<InboxEntry> write, Action<Exception> failed)
    {
        (_user, _device, _claims, _write, _failed) = (user, device, claims, write, failed);
    }

    /// <summary>The next seq the device is to be handed (for tests and diagnostics).</summary>
    public long Next => Volatile.Read(ref _next);

    /// <summary>
    /// Starts the hand-over after hello: the device has everything up to <paramref name="cursor"/> (pending entries
    /// were reset to it); its backlog is claimed and written, then whatever arrived live meanwhile.
    /// </summary>
    public async ValueTask OpenAsync(long cursor, CancellationToken cancellationToken = default)
    {
        try
        {
            _next = cursor + 1;
            Write(await _claims.ClaimBacklogAsync(_user, _device, cancellationToken: cancellationToken).ConfigureAwait(false));
            await HandWaitingAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndTurn();
        }
    }

    /// <summary>Entries routed to the device (ascending <c>seq</c>); handed over now, or by the turn in progress.</summary>
    public void Push(IReadOnlyList<InboxEntry> entries, bool redelivery)
    {
        if (_turn.Wait(0))
        {
            // The usual case: no turn in progress, and the claims complete at once (in-process pending acks) — the
            // entries are written on the caller's thread, with no queue and no hand-off.
            _ = LiveTurnAsync(entries, redelivery);
            return;
        }
        LazyInitializer.EnsureInitialized(ref _waiting).Enqueue((entries, redelivery));
        // The turn may have ended between the Wait above and the Enqueue: then no one would take these.
        if (_turn.Wait(0)) _ = LiveTurnAsync(null, false);
    }

    /// <summary>
    /// A cumulative ack (or sync) up to <paramref name="seq"/> of a device that had acknowledged up to
    /// <paramref name="previous"/>: clears what is pending, then hands over what the freed window lets through. Returns
    /// the acknowledged seq (never past the inbox head) and, when this hand-over wrote every entry after
    /// <paramref name="previous"/> up to it, their conversation positions (else null: the caller reads them).
    /// </summary>
    public async ValueTask<(long Acked, IReadOnlyList<Conversations.ConversationPosition>? Positions)> AcknowledgeAsync(long seq, long previous,
        CancellationToken cancellationToken = default)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (acked, head) = await _claims.AcknowledgeAsync(_user, _device, seq, cancellationToken).ConfigureAwait(false);
            var positions = TakeAcknowledged(previous, acked);
            if (acked + 1 > _next) _next = acked + 1;
            // Everything up to the head handed over already (the usual case: live entries were claimed as they came):
            // nothing to claim, and no round trip to the pending acks to learn it.
            if (head >= _next) Write(await _claims.ClaimBacklogAsync(_user, _device, head, cancellationToken).ConfigureAwait(false));
            await HandWaitingAsync(cancellationToken).ConfigureAwait(false);
            return (acked, positions);
        }
        finally
        {
            EndTurn();
        }
    }

    // A turn for live entries; it holds the turn already. It ends with a look at the queue, and takes another turn for
    // what arrived after its last look (a loop, not a new task each time).
    private async Task LiveTurnAsync(IReadOnlyList<InboxEntry>? entries, bool redelivery)
    {
        do
        {
            try
            {
                if (entries is not null) await HandAsync(entries, redelivery, CancellationToken.None).ConfigureAwait(false);
                entries = null;
                await HandWaitingAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _failed(e);
            }
            _turn.Release();
        } while (_waiting is { IsEmpty: false } && _turn.Wait(0));
    }

    private async ValueTask HandWaitingAsync(CancellationToken cancellationToken)
    {
        while (_waiting is { } waiting && waiting.TryDequeue(out var item))
            await HandAsync(item.Entries, item.Redelivery, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask HandAsync(IReadOnlyList<InboxEntry> entries, bool redelivery, CancellationToken cancellationToken)
    {
        foreach (var entry in entries)
        {
            if (entry.Seq < _next)
            {
                if (redelivery) _write(entry);
                continue;
            }
            if (entry.Seq > _next)
            {
                Write(await _claims.ClaimBacklogAsync(_user, _device, cancellationToken: cancellationToken).ConfigureAwait(false));
                // The backlog reached past this entry, or the window is full: either way the rest comes with it or after.
                if (entry.Seq >= _next) return;
                continue;
            }
            if (!await _claims.ClaimLiveAsync(_user, _device, entry.Seq, cancellationToken).ConfigureAwait(false)) return;
            Handed(entry);
        }
    }

    private void Write(IReadOnlyList<InboxEntry> entries)
    {
        foreach (var entry in entries) Handed(entry);
    }

    private void Handed(InboxEntry entry)
    {
        _write(entry);
        _next = entry.Seq + 1;
        // Kept only as a run of consecutive seqs; a break (an ack past what was written) starts it again.
        if (_unacked.Count == 0 || entry.Seq != _unackedTo + 1)
        {
            _unacked.Clear();
            _unackedFrom = entry.Seq;
        }
        _unackedTo = entry.Seq;
        _unacked.Enqueue(new Conversations.ConversationPosition(entry.Message.Conv, entry.Message.Cseq));
    }

    // The positions of the entries after `previous` through `acked` when all of them are in the run, dropping every
    // entry up to `acked`; null when some were not written here (the caller reads them from the inbox).
    private List<Conversations.ConversationPosition>? TakeAcknowledged(long previous, long acked)
    {
        if (acked <= previous) return [];
        var complete = _unacked.Count > 0 && _unackedFrom <= previous + 1 && _unackedTo >= acked;
        var positions = complete ? new List<Conversations.ConversationPosition>((int)(acked - previous)) : null;
        while (_unacked.Count > 0 && _unackedFrom <= acked)
        {
            var position = _unacked.Dequeue();
            if (complete && _unackedFrom > previous) positions!.Add(position);
            _unackedFrom++;
        }
        return positions;
    }

    private void EndTurn()
    {
        _turn.Release();
        // Entries queued while this turn ran, after its last look at the queue, are taken by a turn of their own.
        if (_waiting is { IsEmpty: false } && _turn.Wait(0)) _ = LiveTurnAsync(null, false);
    }
}
