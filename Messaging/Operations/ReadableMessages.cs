using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// The one rule for what a reply, an operation's target and the message views may name: a message (type ≥ 0, not an
/// event or an operation) of the conversation that the user may read — in a group, within the user's membership periods.
/// </summary>
public sealed class ReadableMessages(ITimelineStore timeline, IGroupStore groups, IOptions<SnowflakeOptions> ids, TimeProvider time)
{
    /// <summary>How long a fresh message is waited for (<see cref="AwaitStoredAsync"/>).</summary>
    public static readonly TimeSpan ArrivalWait = TimeSpan.FromSeconds(5);

    // Ids issued this long ago or less may still be on their way to the timeline.
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits until the message <paramref name="id"/> is in <paramref name="conv"/>'s timeline, when it may be on its way:
    /// the distributed composition acknowledges a send once its log holds it, before stage 1 stores it, so a client that
    /// edits or replies to what it just sent can name a message not stored yet. Only an id issued in the last 30 seconds
    /// is waited for, at most <see cref="ArrivalWait"/>; the caller then checks the target as usual (stage 0).
    /// </summary>
    public async ValueTask AwaitStoredAsync(string conv, long id, CancellationToken cancellationToken = default)
    {
        var issued = SnowflakeId.Decompose(id, ids.Value.Epoch).Time;
        var started = time.GetUtcNow();
        if (started - issued > Fresh || issued - started > Fresh) return;
        var pause = TimeSpan.FromMilliseconds(2);
        while (await timeline.GetMessageAsync(conv, id, cancellationToken).ConfigureAwait(false) is null && time.GetUtcNow() - started < ArrivalWait)
        {
            await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
        }
    }

    /// <summary>The message <paramref name="id"/> of <paramref name="conv"/>; null when there is none the user may read.</summary>
    public async ValueTask<ChatMessage?> FindAsync(string user, string conv, long id, CancellationToken cancellationToken = default)
    {
        var message = await timeline.GetMessageAsync(conv, id, cancellationToken).ConfigureAwait(false);
        if (message is null || message.Type < 0) return null;
        if (message.Ope != Ope.Group) return message;
        var periods = await groups.GetMembershipAsync(message.To, user, cancellationToken).ConfigureAwait(false);
        return periods.Any(p => p.Covers(message.Cseq)) ? message : null;
    }
}
