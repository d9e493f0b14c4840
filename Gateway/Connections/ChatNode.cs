using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Options;

namespace AspireChat.Gateway.Connections;

/// <summary>The wiring every connection of this gateway node shares (the connection itself holds only its state).</summary>
public sealed class ChatNode(
    ConnectionRegistry registry, TokenService tokens, SendQueue sends, InboxDelivery delivery,
    IChatStore store, IGroupStore groups, GroupTimeline timeline, IOptions<GroupOptions> groupOptions,
    IPresenceStore presence, IPendingAcks pending, CursorRecorder cursors, ReadPositions reads, TypingRelay typing, IOptions<LimitsOptions> limits,
    TimeProvider time, ILoggerFactory loggers, IOptions<GatewayOptions> gateway)
{
    public ConnectionRegistry Registry { get; } = registry;
    public TokenService Tokens { get; } = tokens;
    public SendQueue Sends { get; } = sends;
    public InboxDelivery Delivery { get; } = delivery;
    public IChatStore Store { get; } = store;
    public IGroupStore Groups { get; } = groups;
    public GroupTimeline Timeline { get; } = timeline;
    public GroupOptions GroupOptions { get; } = groupOptions.Value;
    public IPresenceStore Presence { get; } = presence;
    public IPendingAcks Pending { get; } = pending;
    public CursorRecorder Cursors { get; } = cursors;
    public ReadPositions Reads { get; } = reads;
    public TypingRelay Typing { get; } = typing;
    public LimitsOptions Limits { get; } = limits.Value;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("AspireChat.Gateway.Connections");

    /// <summary>Seconds between the pings a client should send (told in <c>welcome</c>).</summary>
    public int HeartbeatSeconds { get; } = 30;
    public GatewayOptions Gateway { get; } = gateway.Value;
    public TimeSpan HelloTimeout => Gateway.HelloTimeout;
}
