using System.Collections.Concurrent;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// One device's conversation with the server on a gateway node: every frame after its transport checked size and text —
/// hello (token, cursor, first-hello record, pending reset, backlog, large-group catch-up), sends (rate, order, answers),
/// acks and window refills, sync and gsync, read positions and typing — and the hand-over of its inbox entries
/// (<see cref="InboxHandover"/>). The connection that carries it (<see cref="IDeviceTransport"/>) only moves bytes; the
/// state changes only through guarded transitions, and nothing leaves <see cref="DeviceSessionState.Closed"/>.
/// </summary>
public sealed partial class DeviceSession
{
    /// <summary>Seconds between the pings a client should send (told in <c>welcome</c>).</summary>
    public const int HeartbeatSeconds = 30;

    private readonly IDeviceTransport _transport;
    private readonly ITokenValidator _tokens;
    private readonly DeviceRegistry _registry;
    private readonly InboxClaims _claims;
    private readonly SessionGroups _groupSync;
    private readonly ReadPositions _reads;
    private readonly TypingRelay _typingRelay;
    private readonly IPresenceStore _presence;
    private readonly LimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SendAdmission _sends;
    private readonly Operations.ReadableMessages _messages;
    private readonly TokenBucket _frames;
    // Made on the first refusal (AbuseCounter.Of).
    private AbuseCounter? _badFrames;
    private AbuseCounter? _floods;
    private int _state = (int)DeviceSessionState.AwaitingHello;
    private Closing? _closeReason;
    private InboxHandover? _handover;
    // The inbox seq this device acknowledged last: receipts report what lies after it as delivered.
    private long _acked;
    private TypingThrottle? _typing;
    private GroupCatchUp? _groupCatchUp;
    private ConcurrentDictionary<string, byte>? _groups;
    private DeliveryTraces? _traces;

    public DeviceSession(
        IDeviceTransport transport, ITokenValidator tokens, DeviceRegistry registry, InboxClaims claims, SessionGroups groups, SendQueue sends,
        ReadPositions reads, TypingRelay typing, IPresenceStore presence, Operations.ReadableMessages messages, IOptions<LimitsOptions> limits, TimeProvider time,
        ILogger<DeviceSession> logger)
    {
        _messages = messages;
        (_transport, _tokens, _registry, _claims, _groupSync, _reads, _typingRelay, _presence, _limits, _time, _logger) =
            (transport, tokens, registry, claims, groups, reads, typing, presence, limits.Value, time, logger);
        _sends = new SendAdmission(transport, sends, _limits, time, code => CountAbuse(code));
        _frames = new TokenBucket(_limits.FramesPerSecond, _limits.FrameBurst, time);
    }

    public DeviceSessionState State => (DeviceSessionState)Volatile.Read(ref _state);

    /// <summary>The authenticated user (empty before hello).</summary>
    public string User { get; private set; } = "";

    /// <summary>The device id the hello gave (empty before hello).</summary>
    public string Device { get; private set; } = "";

    /// <summary>The close code and reason the session ended with; null while open or when the client ended it.</summary>
    public (int Code, string Reason)? CloseReason => Volatile.Read(ref _closeReason) is { } c ? (c.Code, c.Reason) : null;

    /// <summary>The groups whose local member map holds this session (kept by the registry); made on first use.</summary>
    internal ConcurrentDictionary<string, byte> Groups => LazyInitializer.EnsureInitialized(ref _groups, () => new(StringComparer.Ordinal));

    /// <summary>The groups this session is in, without making the map for a session in none.</summary>
    internal IEnumerable<string> JoinedGroups => _groups?.Keys ?? (IEnumerable<string>)[];

    private GroupCatchUp CatchUp => LazyInitializer.EnsureInitialized(ref _groupCatchUp, () => new GroupCatchUp(frame => _transport.TryWrite(frame)));

    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> if still in <paramref name="from"/>; false when another transition came first.</summary>
    private bool TryMove(DeviceSessionState from, DeviceSessionState to) =>
        from != DeviceSessionState.Closed && Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;

    /// <summary>The session takes no more frames and a hello still in progress is discarded.</summary>
    public void MarkClosed() => Volatile.Write(ref _state, (int)DeviceSessionState.Closed);

    /// <summary>
    /// Ends the session with a close code (docs/protocol.md): it takes no more frames, and its transport closes once every
    /// send it took has been answered. The first reason given is the one the client sees.
    /// </summary>
    public void Close(int code, string reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, new Closing(code, reason), null) is not null) return;
        MarkClosed();
        _sends.Close();
        _sends.Drained.ContinueWith(static (_, state) =>
        {
            var session = (DeviceSession)state!;
            session._transport.Close(session._closeReason!.Code, session._closeReason.Reason);
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The hello timeout passed: a session still waiting for its hello is closed (4401).</summary>
    public void HelloTimedOut(TimeSpan timeout)
    {
        if (State == DeviceSessionState.AwaitingHello) Close(CloseCodes.Unauthorized, $"no hello within {timeout.TotalSeconds:0.###} s");
    }

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
        if (!await HasRoomForDeviceAsync(cancellationToken).ConfigureAwait(false)) return false;
        var head = await _claims.HeadAsync(user, cancellationToken).ConfigureAwait(false);
        var recorded = await _claims.CursorAsync(user, hello.Device, cancellationToken).ConfigureAwait(false);
        // The device resumes after the cursor it gives, else after the one recorded for it, else from the head; never past the head.
        var cursor = Math.Min(hello.Cursor ?? recorded ?? head, head);
        if (recorded is null) await _claims.RecordFirstHelloAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
        _acked = cursor;
        _traces = new DeliveryTraces(user, hello.Device);
        var handover = _handover = new InboxHandover(user, hello.Device, _claims, Write, e => LogHandoverFailed(_logger, e, User, Device));
        // Large groups: the session joins the node's group map and then reads where each group resumes, before the
        // welcome — so every message sequenced after the welcome reaches the device, by its page or live (decision 0008).
        var groups = await JoinGroupsAsync(hello, deviceKnown: recorded is not null, cancellationToken).ConfigureAwait(false);

        // The hello timer, a shutdown or a replacement may have closed this session while the reads above waited:
        // then the hello is discarded — it must not register, and so replace, the device's live session.
        if (!TryMove(DeviceSessionState.AwaitingHello, DeviceSessionState.Welcomed)) return false;
        try
        {
            _transport.TryWrite(FrameCodec.Write(new WelcomeFrame { User = user, Device = hello.Device, Node = _registry.Node, Head = head, Heartbeat = HeartbeatSeconds }));
            _registry.Add(this)?.Close(CloseCodes.Replaced, "replaced by a newer connection of this device");
            ChatTelemetry.Connections.Add(1);
            // Live entries routed from here on wait in the hand-over until its backlog is written.
            await _claims.ResetAsync(user, hello.Device, cursor, cancellationToken).ConfigureAwait(false);
            await _presence.ConnectAsync(user, hello.Device, _registry.Node, cancellationToken).ConfigureAwait(false);
            await handover.OpenAsync(cursor, cancellationToken).ConfigureAwait(false);
            await _groupSync.RecordUserAsync(user, cancellationToken).ConfigureAwait(false);
            // Large groups have no inbox copies: after the welcome, one page after each group's resume point; the client
            // continues with gsync when a page is not the whole backlog (decision 0008).
            var budget = _groupSync.CatchUpBytes;
            foreach (var (gid, after) in groups)
            {
                var (page, end) = await _groupSync.CatchUpPageAsync(gid, User, after, budget, cancellationToken).ConfigureAwait(false);
                CatchUp.Page(gid, page, end);
                budget -= page.Sum(m => m.Frame.Length);
            }
        }
        finally
        {
            // Held live group messages go out even when a backing service failed part of the way.
            _groupCatchUp?.Finish();
        }
        return true;
    }

    // At most Limits:MaxDevicesPerUser devices of a user hold a connection at once (presence counts every node's);
    // a device already connected may always reconnect (its new connection replaces the old).
    private async ValueTask<bool> HasRoomForDeviceAsync(CancellationToken cancellationToken)
    {
        var devices = await _presence.GetDevicesAsync(User, cancellationToken).ConfigureAwait(false);
        if (devices.Count < _limits.MaxDevicesPerUser || devices.Any(d => d.Device == Device)) return true;
        _transport.TryWrite(FrameCodec.Write(new ErrorFrame
        {
            Code = ErrorCodes.Forbidden, Message = $"at most {_limits.MaxDevicesPerUser} devices of a user may be connected at once",
        }));
        Close(CloseCodes.Forbidden, "too many devices");
        return false;
    }

    // Live messages of the user's groups are held from here on, until each group's page is written.
    private async ValueTask<IReadOnlyList<(string Gid, long After)>> JoinGroupsAsync(HelloFrame hello, bool deviceKnown, CancellationToken cancellationToken)
    {
        var gids = await _groupSync.OfUserAsync(User, cancellationToken).ConfigureAwait(false);
        if (gids.Count == 0) return [];
        CatchUp.Begin(gids);
        _registry.JoinGroups(this, gids);
        return await _groupSync.ResumePointsAsync(User, Device, gids, hello.Groups, deviceKnown, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// The connection ended: the device leaves this node (registry, pending entries, presence) if it was here. Completes once
    /// every send the session took has been answered, so the transport may then close.
    /// </summary>
    public async ValueTask LeaveAsync()
    {
        MarkClosed();
        _sends.Close();
        if (User.Length > 0 && _registry.Remove(this))
        {
            ChatTelemetry.Connections.Add(-1);
            await _claims.ForgetAsync(User, Device).ConfigureAwait(false);
            await _presence.DisconnectAsync(User, Device, _registry.Node).ConfigureAwait(false);
        }
        await _sends.Drained.ConfigureAwait(false);
    }

    // A live entry carries its message's trace: its push is a span of that trace (DeliveryTraces). This device's own send,
    // answered by an ack that carried its seq, is not written again: the device holds it from that ack, and the hand-over
    // has claimed it like any push, so it is re-pushed only if the device does not acknowledge it (docs/protocol.md §8.2).
    private void Write(InboxEntry entry)
    {
        if (entry.AckedTo is { } answer && ReferenceEquals(answer, _sends)) return;
        _traces!.Push(entry, _transport, static (transport, e) => transport.TryWrite(InboxFrames.Of(e)));
    }

    private static FrameException Unauthorized(string message) => new(ErrorCodes.Unauthorized, message);

    private sealed record Closing(int Code, string Reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing live inbox entries to {User}/{Device} failed; they follow with the next ack or reconnect")]
    private static partial void LogHandoverFailed(ILogger logger, Exception exception, string user, string device);
}
