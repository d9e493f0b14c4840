using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>What a frame the client wrote may be answered with.</summary>
internal enum ReplyKind
{
    /// <summary><c>sync</c>: a <c>sync</c> page or an <c>error</c>.</summary>
    Sync,
    /// <summary><c>gsync</c>: a <c>gsync</c> page or an <c>error</c>.</summary>
    Gsync,
    /// <summary><c>ping</c>: a <c>pong</c>.</summary>
    Pong,
    /// <summary><c>ack {group, cseq}</c>: nothing, or an <c>error</c> (not a member any more, no such group).</summary>
    GroupAck,
    /// <summary><c>read</c> or <c>typing</c>: nothing, or an <c>error</c> (not a member, unknown conversation).</summary>
    Signal,
}

/// <summary>
/// A frame written on a connection whose answer carries no request id. The server answers these frames in the order
/// it reads them, so the connection keeps them in wire order and each answer belongs to the oldest one still open.
/// </summary>
internal sealed class PendingReply
{
    private PendingReply(ReplyKind kind) => Kind = kind;

    public ReplyKind Kind { get; }
    public TaskCompletionSource<SyncReplyFrame>? Sync { get; private init; }
    public TaskCompletionSource<GsyncReplyFrame>? Gsync { get; private init; }
    /// <summary>Null for a heartbeat ping nobody awaits.</summary>
    public TaskCompletionSource<TimeSpan>? Pong { get; private init; }
    /// <summary>When the ping was written (a <see cref="TimeProvider"/> timestamp).</summary>
    public long Started { get; private init; }
    /// <summary>The group of a <c>gsync</c> or a group ack.</summary>
    public string? Group { get; private init; }
    /// <summary>The <c>after</c> of a <c>gsync</c>: the page answers for every <c>cseq</c> in (after, next].</summary>
    public long After { get; private init; }

    public static PendingReply ForSync(TaskCompletionSource<SyncReplyFrame> waiter) => new(ReplyKind.Sync) { Sync = waiter };

    public static PendingReply ForGsync(TaskCompletionSource<GsyncReplyFrame> waiter, string group, long after) =>
        new(ReplyKind.Gsync) { Gsync = waiter, Group = group, After = after };

    public static PendingReply ForPong(TaskCompletionSource<TimeSpan>? waiter, long started) => new(ReplyKind.Pong) { Pong = waiter, Started = started };

    public static PendingReply ForGroupAck(string group) => new(ReplyKind.GroupAck) { Group = group };

    /// <summary>A <c>read</c> or <c>typing</c> about <paramref name="conv"/> (kept in <see cref="Group"/>).</summary>
    public static PendingReply ForSignal(string conv) => new(ReplyKind.Signal) { Group = conv };

    public void Fail(Exception error)
    {
        Sync?.TrySetException(error);
        Gsync?.TrySetException(error);
        Pong?.TrySetException(error);
    }
}
