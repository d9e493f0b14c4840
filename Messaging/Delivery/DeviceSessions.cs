using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Makes the <see cref="DeviceSession"/> of each connection a gateway node accepts, and holds the ports every session
/// of the node shares (a session itself holds only its device's state). The same in the embedded and the distributed gateway:
/// the ports' adapters differ, not this.
/// </summary>
public sealed partial class DeviceSessions(
    DeviceRegistry registry, SendQueue sends, InboxDelivery delivery, IInboxStore inbox, ICursorStore cursorStore, IGroupStore groups, IUserStore users, GroupTimeline timeline,
    IOptions<GroupOptions> groupOptions, IPresenceStore presence, CursorRecorder cursors, ReadPositions reads, TypingRelay typing,
    IOptions<LimitsOptions> limits, TimeProvider time, ILogger<DeviceSessions> logger)
{
    /// <summary>Seconds between the pings a client should send (told in <c>welcome</c>).</summary>
    public const int HeartbeatSeconds = 30;

    /// <summary>A session for a new connection, awaiting its hello.</summary>
    public DeviceSession Create(IDeviceTransport transport) => new(this, transport);

    internal DeviceRegistry Registry { get; } = registry;
    internal SendQueue Sends { get; } = sends;
    internal InboxDelivery Delivery { get; } = delivery;
    internal IInboxStore Inbox { get; } = inbox;
    internal ICursorStore CursorStore { get; } = cursorStore;
    internal IGroupStore Groups { get; } = groups;
    internal IUserStore Users { get; } = users;
    internal GroupTimeline Timeline { get; } = timeline;
    internal GroupOptions GroupOptions { get; } = groupOptions.Value;
    internal IPresenceStore Presence { get; } = presence;
    internal CursorRecorder Cursors { get; } = cursors;
    internal ReadPositions Reads { get; } = reads;
    internal TypingRelay Typing { get; } = typing;
    internal LimitsOptions Limits { get; } = limits.Value;
    internal TimeProvider Time { get; } = time;

    internal void HandoverFailed(Exception exception, string user, string device) => LogHandoverFailed(logger, exception, user, device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing live inbox entries to {User}/{Device} failed; they follow with the next ack or reconnect")]
    private static partial void LogHandoverFailed(ILogger logger, Exception exception, string user, string device);
}
