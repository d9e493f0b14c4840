namespace AspireChat.Messaging.Storage;

/// <summary>Device cursors (the inbox <c>seq</c> each device acknowledged) and the send records stage 0 dedups on.</summary>
public interface ICursorStore
{
    /// <summary>The cursor recorded for a device from its acks; null for a device never seen.</summary>
    ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default);

    /// <summary>Moves a device's cursor forward to <paramref name="seq"/>; never backwards.</summary>
    ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default);

    /// <summary>Moves many devices' cursors forward at once (each never backwards).</summary>
    async ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default)
    {
        foreach (var (user, device, seq) in cursors) await AdvanceCursorAsync(user, device, seq, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes send records older than <paramref name="olderThan"/> (Unix ms); returns how many.</summary>
    ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default);
}
