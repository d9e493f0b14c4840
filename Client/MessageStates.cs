using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// The device's local state of the messages operations touched (docs/protocol.md §13): per target, a base (nothing, or
/// a server view) and the operation entries received for it, applied in <c>cseq</c> order. An entry that arrives
/// behind a later one is slotted into place and the state recomputed, so the order they arrive in does not matter;
/// an entry seen before changes nothing. Only messages that operations touched are kept, never message content the
/// app already holds. Thread-safe: the receive loop applies entries, HTTP answers seed views.
/// </summary>
internal sealed class MessageStates
{
    private static readonly JsonElement Erased = JsonDocument.Parse("{}").RootElement;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Conv, string Id), Tracked> _tracked = [];
    private long _arrivals;

    /// <summary>
    /// Records operation entry <paramref name="entry"/> and returns its target's state after it; null when the entry
    /// is malformed (no target) or was recorded before.
    /// </summary>
    public MessageState? Apply(MsgFrame entry)
    {
        if (!OperationTypes.IsOperation(entry.Type) || TargetOf(entry) is not { } target) return null;
        lock (_gate)
        {
            var tracked = TrackedOf(entry.Conv, target);
            if (!tracked.Ops.TryAdd(entry.Cseq, new Held(entry, ++_arrivals))) return null;
            return tracked.Recompute();
        }
    }

    /// <summary>A point in the arrival order: a view asked for after it holds every entry that arrived before it.</summary>
    public long Mark()
    {
        lock (_gate) return _arrivals;
    }

    /// <summary>
    /// Takes a server view of a message (history, one message, pins) as its base. Entries that arrived up to
    /// <paramref name="mark"/> (taken before the view was asked for) are in it already and are dropped; later ones are
    /// applied on top — the operations are absolute (set this body, this reaction on or off, pinned or not), so one the
    /// view already had changes nothing when applied again in order.
    /// </summary>
    public MessageState Seed(MsgFrame view, long mark)
    {
        lock (_gate)
        {
            var tracked = TrackedOf(view.Conv, view.Id);
            tracked.Base = new MessageState
            {
                Conv = view.Conv,
                Id = view.Id,
                Body = view.Body.ValueKind == JsonValueKind.Undefined ? null : view.Body.Clone(),
                Ex = view.Ex?.Clone(),
                Edited = view.Edited,
                Recalled = view.Recalled == true,
                Reactions = view.Reactions is { Count: > 0 } reactions
                    ? reactions.ToDictionary(r => r.Key, r => (IReadOnlyList<string>)r.Value.ToArray(), StringComparer.Ordinal)
                    : MessageState.NoReactions,
                Pinned = view.Pinned == true,
            };
            foreach (var cseq in tracked.Ops.Where(o => o.Value.Arrival <= mark).Select(o => o.Key).ToList()) tracked.Ops.Remove(cseq);
            return tracked.Recompute();
        }
    }

    public MessageState? Get(string conv, string id)
    {
        lock (_gate) return _tracked.GetValueOrDefault((conv, id))?.Current;
    }

    private Tracked TrackedOf(string conv, string id)
    {
        if (!_tracked.TryGetValue((conv, id), out var tracked))
            _tracked[(conv, id)] = tracked = new Tracked(new MessageState { Conv = conv, Id = id });
        return tracked;
    }

    internal static string? TargetOf(MsgFrame entry) =>
        entry.Body.ValueKind == JsonValueKind.Object && entry.Body.TryGetProperty("target", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()
            : null;

    private sealed record Held(MsgFrame Entry, long Arrival);

    private sealed class Tracked(MessageState @base)
    {
        public MessageState Base { get; set; } = @base;
        public SortedList<long, Held> Ops { get; } = [];
        public MessageState Current { get; private set; } = @base;

        /// <summary>The base with every held entry applied in <c>cseq</c> order; a recall erases what it held of the content.</summary>
        public MessageState Recompute()
        {
            var body = Base.Body;
            var ex = Base.Ex;
            var edited = Base.Edited;
            var recalled = Base.Recalled;
            var pinned = Base.Pinned;
            var reactions = Base.Reactions.Select(r => (Emoji: r.Key, Users: r.Value.ToList())).ToList();
            foreach (var (_, held) in Ops)
            {
                var entry = held.Entry;
                var op = entry.Body;
                switch (entry.Type)
                {
                    // An edit sequenced after the recall changes nothing (§13.2).
                    case OperationTypes.Edited when !recalled:
                        body = op.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.Object ? b : Erased;
                        ex = op.TryGetProperty("ex", out var e) && e.ValueKind == JsonValueKind.Object ? e : null;
                        edited = entry.Ts;
                        break;
                    case OperationTypes.Recalled:
                        (recalled, body, ex, edited) = (true, Erased, null, null);
                        break;
                    case OperationTypes.Reaction when op.TryGetProperty("emoji", out var emoji) && emoji.ValueKind == JsonValueKind.String:
                        React(reactions, emoji.GetString()!, entry.From, IsOn(op));
                        break;
                    case OperationTypes.Pinned:
                        pinned = IsOn(op);
                        break;
                }
            }
            if (recalled) Erase();
            return Current = Base with
            {
                Body = body,
                Ex = ex,
                Edited = edited,
                Recalled = recalled,
                Pinned = pinned,
                Reactions = reactions.Count == 0
                    ? MessageState.NoReactions
                    : reactions.ToDictionary(r => r.Emoji, r => (IReadOnlyList<string>)r.Users.ToArray(), StringComparer.Ordinal),
            };
        }

        /// <summary>The content of the message and of its edits is dropped, as the server drops it from its store.</summary>
        private void Erase()
        {
            if (Base.Body is not null || Base.Ex is not null) Base = Base with { Body = Erased, Ex = null, Edited = null };
            foreach (var (cseq, held) in Ops.ToList())
            {
                if (held.Entry.Type != OperationTypes.Edited || !held.Entry.Body.TryGetProperty("body", out _)) continue;
                var erased = JsonDocument.Parse($$"""{"event":"edited","target":"{{JsonEncodedText.Encode(Base.Id)}}"}""").RootElement;
                Ops[cseq] = held with { Entry = held.Entry with { Body = erased } };
            }
        }

        private static bool IsOn(JsonElement op) => op.TryGetProperty("on", out var on) && on.ValueKind == JsonValueKind.True;

        // Reactions are absolute: adding one that is there, or removing one that is not, changes nothing; a user
        // who adds one again after removing it goes to the end.
        private static void React(List<(string Emoji, List<string> Users)> reactions, string emoji, string user, bool on)
        {
            var at = reactions.FindIndex(r => r.Emoji == emoji);
            if (on)
            {
                if (at < 0) reactions.Add((emoji, [user]));
                else if (!reactions[at].Users.Contains(user)) reactions[at].Users.Add(user);
            }
            else if (at >= 0 && reactions[at].Users.Remove(user) && reactions[at].Users.Count == 0)
            {
                reactions.RemoveAt(at);
            }
        }
    }
}
