using System.Collections.Concurrent;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// One device's protocol state on a gateway node, speaking only to ports: its hello (cursor, first-hello record, pending
/// reset, backlog, large-group catch-up), its sends, acks and window refills, sync and gsync, read positions and typing,
/// and the hand-over of its inbox entries (<see cref="InboxHandover"/>). The connection that carries it
/// (<see cref="IDeviceTransport"/>) only moves frames; the state changes only through guarded transitions, and nothing
/// leaves <see cref="DeviceSessionState.Closed"/>.
/// </summary>
public sealed partial class DeviceSession
{
    private readonly DeviceSessions _node;
    private readonly IDeviceTransport _transport;
    private int _state = (int)DeviceSessionState.AwaitingHello;
    private InboxHandover? _handover;
    // The inbox seq this device acknowledged last: receipts report what lies after it as delivered.
    private long _acked;
    private TypingThrottle? _typing;
    private GroupCatchUp? _groupCatchUp;
    private ConcurrentDictionary<string, byte>? _groups;

    internal DeviceSession(DeviceSessions node, IDeviceTransport transport) => (_node, _transport) = (node, transport);

    public DeviceSessionState State => (DeviceSessionState)Volatile.Read(ref _state);

    /// <summary>The authenticated user (empty before hello).</summary>
    public string User { get; private set; } = "";

    /// <summary>The device id the hello gave (empty before hello).</summary>
    public string Device { get; private set; } = "";

    /// <summary>The groups whose local member map holds this session (kept by the registry); made on first use.</summary>
    internal ConcurrentDictionary<string, byte> Groups => LazyInitializer.EnsureInitialized(ref _groups, () => new(StringComparer.Ordinal));

    /// <summary>The groups this session is in, without making the map for a session in none.</summary>
    internal IEnumerable<string> JoinedGroups => _groups?.Keys ?? (IEnumerable<string>)[];

    private GroupCatchUp CatchUp => LazyInitializer.EnsureInitialized(ref _groupCatchUp, () => new GroupCatchUp(frame => _transport.TryWrite(frame)));

    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> if still in <paramref name="from"/>; false when another transition came first.</summary>
    private bool TryMove(DeviceSessionState from, DeviceSessionState to) =>
        from != DeviceSessionState.Closed && Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;

    /// <summary>The connection is closing: the session takes no more frames and a hello still in progress is discarded.</summary>
    public void MarkClosed() => Volatile.Write(ref _state, (int)DeviceSessionState.Closed);

    /// <summary>
    /// The hello of an authenticated <paramref name="user"/>. False when the session was closed while the hello waited
    /// (its timeout, a shutdown): then it is discarded and registers nothing. A malformed hello throws a
    /// <see cref="FrameException"/> with <see cref="ErrorCodes.Unauthorized"/>.
    /// </summary>
    public async ValueTask<bool> HelloAsync(string user, HelloFrame hello, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.IsValidDevice(hello.Device)) throw Unauthorized("'device' must be 1–64 printable characters");
        if (hello.Cursor is < 0) throw Unauthorized("'cursor' must not be negative");
        if (hello.Groups?.FirstOrDefault(g => !Identifiers.IsValidId(g.Key) || g.Value < 0) is { Key: not null } badGroup)
            throw Unauthorized($"'groups' entry '{badGroup.Key}' must be a group id with a non-negative cseq");

        (User, Device) = (user, hello.Device);
        var head = await _node.Inbox.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        var recorded = await _node.Cursors.GetAsync(user, hello.Device, cancellationToken).ConfigureAwait(false);
        // The device resumes after the cursor it gives, else after the one recorded for it, else from the head; never past the head.
        var cursor = Math.Min(hello.Cursor ?? recorded ?? head, head);
        // A device's first hello records it as seen (its cursor), so later hellos can tell a known device from a new one.
        if (recorded is null) await _node.CursorStore.AdvanceCursorAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
        _acked = cursor;
        _traces = new DeliveryTraces(user, hello.Device);
        var handover = _handover = new InboxHandover(user, hello.Device, _node.Delivery, Write, e => _node.HandoverFailed(e, User, Device));
        // Large groups: the session joins the node's group map and then reads where each group resumes, before the
        // welcome — so every message sequenced after the welcome reaches the device, by its page or live (decision 0008).
        var groups = await JoinGroupsAsync(hello, deviceKnown: recorded is not null, cancellationToken).ConfigureAwait(false);

        // The hello timer, a shutdown or a replacement may have closed this session while the reads above waited:
        // then the hello is discarded — it must not register, and so replace, the device's live session.
        if (!TryMove(DeviceSessionState.AwaitingHello, DeviceSessionState.Welcomed)) return false;
        try
        {
            _transport.TryWrite(FrameCodec.Write(new WelcomeFrame { User = user, Device = hello.Device, Node = _node.Registry.Node, Head = head, Heartbeat = DeviceSessions.HeartbeatSeconds }));
            _node.Registry.Add(this)?._transport.Close(CloseCodes.Replaced, "replaced by a newer connection of this device");
            ChatTelemetry.Connections.Add(1);
            // Live entries routed from here on wait in the hand-over until its backlog is written.
            await _node.Delivery.ResetAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
            await _node.Presence.ConnectAsync(user, hello.Device, _node.Registry.Node, cancellationToken).ConfigureAwait(false);
            await handover.OpenAsync(cursor, cancellationToken).ConfigureAwait(false);
            await _node.Users.UpsertUserAsync(user, cancellationToken: cancellationToken).ConfigureAwait(false);
            await CatchUpGroupsAsync(groups, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Held live group messages go out even when a backing service failed part of the way.
            _groupCatchUp?.Finish();
        }
        return true;
    }

    // Where each of the user's large groups resumes for this device: hello.groups, else the cursor recorded for the
    // device, else — the first time the device is here for the group — the join (a device seen before, away when its
    // user joined) or the head (a new device starts live). Recorded, so that a device that goes away before there is
    // anything to acknowledge resumes there and not from a later head. Live messages are held from here on.
    private async ValueTask<IReadOnlyList<(string Gid, long After)>> JoinGroupsAsync(HelloFrame hello, bool deviceKnown, CancellationToken cancellationToken)
    {
        var gids = await _node.Groups.GetUserGroupsAsync(User, cancellationToken).ConfigureAwait(false);
        if (gids.Count == 0) return [];
        CatchUp.Begin(gids);
        _node.Registry.JoinGroups(this, gids);
        var resumes = new List<(string, long)>();
        foreach (var gid in gids)
        {
            if (await _node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { Fanout: GroupFanout.Read } group) continue;
            long cursor;
            if (hello.Groups is { } listed && listed.TryGetValue(gid, out var given)) cursor = given;
            else if (await _node.Users.GetGroupCursorAsync(User, Device, gid, cancellationToken).ConfigureAwait(false) is { } recorded) cursor = recorded;
            else
            {
                var periods = deviceKnown ? await _node.Groups.GetMembershipAsync(gid, User, cancellationToken).ConfigureAwait(false) : [];
                cursor = periods.Count > 0 && periods[^1].Left is null
                    ? periods[^1].Joined - 1
                    : await _node.Timeline.HeadAsync(gid, cancellationToken).ConfigureAwait(false);
                await _node.Users.AdvanceGroupCursorAsync(User, Device, gid, cursor, cancellationToken).ConfigureAwait(false);
            }
            // What came before the group went large reached this device through its inbox.
            resumes.Add((gid, Math.Max(cursor, group.FanoutSince - 1)));
        }
        return resumes;
    }

    // Large groups have no inbox copies: after the welcome, one page after each group's resume point; the client
    // continues with gsync when a page is not the whole backlog (decision 0008).
    private async ValueTask CatchUpGroupsAsync(IReadOnlyList<(string Gid, long After)> groups, CancellationToken cancellationToken)
    {
        foreach (var (gid, after) in groups)
        {
            var page = await _node.Timeline.ReadAfterAsync(gid, User, after, _node.GroupOptions.HelloPage, cancellationToken).ConfigureAwait(false);
            var items = page?.Items ?? [];
            CatchUp.Page(gid, [.. items.Select(m => (m.Cseq, FrameCodec.Write(m.ToFrame())))], items.Count > 0 ? items[^1].Cseq : after);
        }
    }

    /// <summary>Inbox entries routed to this device; false once it is not welcomed (the router tries elsewhere or the retry loop later).</summary>
    public bool TryPush(IReadOnlyList<InboxEntry> entries, bool redelivery = false)
    {
        if (State != DeviceSessionState.Welcomed || _handover is not { } handover) return false;
        handover.Push(entries, redelivery);
        return true;
    }

    /// <summary>A relayed frame (read, receipt, typing); false once the session is not welcomed.</summary>
    public bool TrySignal(byte[] frame) => State == DeviceSessionState.Welcomed && _transport.TryWrite(frame);

    /// <summary>A large group's live message (its frame serialized once for every local member); see <see cref="GroupCatchUp"/>.</summary>
    public void PushGroupMessage(string gid, long cseq, byte[] frame)
    {
        // Also while the hello is in progress: the session joined its groups' maps before their cursors were read.
        if (State != DeviceSessionState.Closed) CatchUp.Live(gid, cseq, frame);
    }

    /// <summary>The connection ended: the device leaves this node (registry, pending entries, presence) if it was here.</summary>
    public async ValueTask LeaveAsync()
    {
        MarkClosed();
        if (User.Length == 0 || !_node.Registry.Remove(this)) return;
        ChatTelemetry.Connections.Add(-1);
        await _node.Delivery.ForgetAsync(User, Device).ConfigureAwait(false);
        await _node.Presence.DisconnectAsync(User, Device, _node.Registry.Node).ConfigureAwait(false);
    }

    // A live entry carries its message's trace: its push is a span of that trace (DeliveryTraces).
    private void Write(InboxEntry entry) => _traces!.Push(entry, _transport, static (transport, e) => transport.TryWrite(InboxFrames.Of(e)));

    private DeliveryTraces? _traces;

    private static FrameException Unauthorized(string message) => new(ErrorCodes.Unauthorized, message);
}
