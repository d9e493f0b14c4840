using AspireChat.Protocol;

namespace AspireChat.Messaging.Operations;

/// <summary>
/// The server's views of messages in their current state (docs/protocol.md §13.3): history and the conversation list's
/// <c>last</c> through <see cref="ShowAsync"/>, one message with its versions, and the pins. Each applies the state stage 1
/// stored after the operations, so every view agrees with what a device that applied the timeline holds.
/// </summary>
public sealed class MessageViews(IMessageStateStore states, ReadableMessages readable)
{
    /// <summary>Most pins one conversation lists.</summary>
    public const int MaxPins = 100;

    /// <summary>The frames of <paramref name="messages"/>, each message (type ≥ 0) in its current state; entries of other types as written.</summary>
    public async ValueTask<IReadOnlyList<MsgFrame>> ShowAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        var frames = new MsgFrame[messages.Count];
        var known = new Dictionary<(string, long), MessageState>();
        foreach (var byConv in messages.Where(m => m.Type >= 0).GroupBy(m => m.Conv, StringComparer.Ordinal))
        {
            foreach (var (id, state) in await states.GetStatesAsync(byConv.Key, [.. byConv.Select(m => m.Id)], cancellationToken).ConfigureAwait(false))
                known[(byConv.Key, id)] = state;
        }
        for (var i = 0; i < messages.Count; i++)
        {
            var frame = messages[i].ToFrame();
            frames[i] = known.TryGetValue((messages[i].Conv, messages[i].Id), out var state) ? state.Show(frame) : frame;
        }
        return frames;
    }

    /// <summary>
    /// The message <paramref name="id"/> of <paramref name="conv"/> in its current state with <c>edits</c>, every version
    /// oldest first; null when there is none of type ≥ 0 that <paramref name="user"/> (a member) may read.
    /// </summary>
    public async ValueTask<MsgFrame?> GetAsync(string user, string conv, long id, CancellationToken cancellationToken = default)
    {
        if (await readable.FindAsync(user, conv, id, cancellationToken).ConfigureAwait(false) is not { } message) return null;
        var state = (await states.GetStatesAsync(conv, [id], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(id) ?? MessageState.Of(message);
        return state.Show(message.ToFrame()) with { Edits = state.Versions(message) };
    }

    /// <summary>The pinned messages of <paramref name="conv"/> that <paramref name="user"/> may read, most recently pinned first.</summary>
    public async ValueTask<IReadOnlyList<MsgFrame>> PinsAsync(string user, string conv, CancellationToken cancellationToken = default)
    {
        var pins = new List<MsgFrame>();
        foreach (var state in await states.GetPinnedAsync(conv, MaxPins, cancellationToken).ConfigureAwait(false))
        {
            if (await readable.FindAsync(user, conv, state.Id, cancellationToken).ConfigureAwait(false) is { } message) pins.Add(state.Show(message.ToFrame()));
        }
        return pins;
    }
}
