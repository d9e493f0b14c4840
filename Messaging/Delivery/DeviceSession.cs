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
        var head = await _node.Store.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        var recorded = await _node.Cursors.GetAsync(user, hello.Device, cancellationToken).ConfigureAwait(false);
        // The device resumes after the cursor it gives, else after the one recorded for it, else from the head; never past the head.
        var cursor = Math.Min(hello.Cursor ?? recorded ?? head, head);
        // A device's first hello records it as seen (its cursor), so later hellos can tell a known device from a new one.
        if (recorded is null) await _node.Store.AdvanceCursorAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
        _acked = cursor;
        _traces = new DeliveryTraces(user, hello.Device);
        var handover = _handover = new InboxHandover(user, hello.Device, _node.Delivery, Write, e => _node.HandoverFailed(e, User, Device));

        // The hello timer, a shutdown or a replacement may have closed this session while the reads above waited:
        // then the hello is discarded — it must not register, and so replace, the device's live session.
        if (!TryMove(DeviceSessionState.AwaitingHello, DeviceSessionState.Welcomed)) return false;
        _transport.TryWrite(FrameCodec.Write(new WelcomeFrame { User = user, Device = hello.Device, Node = _node.Registry.Node, Head = head, Heartbeat = DeviceSessions.HeartbeatSeconds }));
        _node.Registry.Add(this)?._transport.Close(CloseCodes.Replaced, "replaced by a newer connection of this device");
        ChatTelemetry.Connections.Add(1);
        // Live entries routed from here on wait in the hand-over until its backlog is written.
        await _node.Delivery.ResetAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
        await _node.Presence.ConnectAsync(user, hello.Device, _node.Registry.Node, cancellationToken).ConfigureAwait(false);
        await handover.OpenAsync(cursor, cancellationToken).ConfigureAwait(false);
        await _node.Groups.UpsertUserAsync(user, cancellationToken: cancellationToken).ConfigureAwait(false);
        await CatchUpGroupsAsync(hello, deviceKnown: recorded is not null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    // Large groups have no inbox copies: push one page after each group's cursor (hello.groups, else the
    // cursor recorded for this device, else the head); the client continues with gsync (decision 0008).
    private async ValueTask CatchUpGroupsAsync(HelloFrame hello, bool deviceKnown, CancellationToken cancellationToken)
    {
        var gids = await _node.Groups.GetUserGroupsAsync(User, cancellationToken).ConfigureAwait(false);
        if (gids.Count == 0) return;
        CatchUp.Begin(gids);
        _node.Registry.JoinGroups(this, gids);
        foreach (var gid in gids)
        {
            if (await _node.Groups.GetGroupAsync(gid, cancellationToken).ConfigureAwait(false) is not { Fanout: GroupFanout.Read } group)
            {
                CatchUp.End(gid, 0);
                continue;
            }
            long cursor;
            if (hello.Groups is { } listed && listed.TryGetValue(gid, out var given)) cursor = given;
            else if (await _node.Groups.GetGroupCursorAsync(User, Device, gid, cancellationToken).ConfigureAwait(false) is { } recorded) cursor = recorded;
            else
            {
                // The device is here for the group the first time. A device seen before was away when its user joined:
                // it gets the group from the join on. A new device starts live from the head (docs/protocol.md). Recorded, so
                // that if it goes away before there is anything to acknowledge, it resumes here and not from a later head.
                var periods = deviceKnown ? await _node.Groups.GetMembershipAsync(gid, User, cancellationToken).ConfigureAwait(false) : [];
                cursor = periods.Count > 0 && periods[^1].Left is null
                    ? periods[^1].Joined - 1
                    : await _node.Timeline.HeadAsync(gid, cancellationToken).ConfigureAwait(false);
                await _node.Groups.AdvanceGroupCursorAsync(User, Device, gid, cursor, cancellationToken).ConfigureAwait(false);
            }
            // What came before the group went large reached this device through its inbox.
            var after = Math.Max(cursor, group.FanoutSince - 1);
            var page = await _node.Timeline.ReadAfterAsync(gid, User, after, _node.GroupOptions.HelloPage, cancellationToken).ConfigureAwait(false);
            foreach (var message in page?.Items ?? []) _transport.TryWrite(FrameCodec.Write(message.ToFrame()));
            // A page that is not the whole backlog ends before what arrived live: the client fills that gap with gsync.
            CatchUp.End(gid, page is { Items.Count: > 0 } ? page.Items[^1].Cseq : after);
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

    /// <summary>A large group's live message (its frame serialized once for every local member).</summary>
    public void PushGroupMessage(string gid, long cseq, byte[] frame)
    {
        if (State == DeviceSessionState.Welcomed) CatchUp.Live(gid, cseq, frame);
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
