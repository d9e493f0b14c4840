using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// The client half of protocol v1 (docs/protocol.md §3–§9): sends with timeout and same-<c>req</c> retransmission, inbox
/// messages surfaced exactly once in <c>seq</c> order with gap-filling <c>sync</c> and batched cumulative acks,
/// group messages exactly once in <c>cseq</c> order per group whichever path brings them (inbox, large-group push,
/// <c>gsync</c>) with per-group cursors and acks, heartbeats, and reconnection with backoff. One receive loop and one
/// writer loop per connection.
/// </summary>
public sealed partial class ChatClient : IAsyncDisposable
{
    private static readonly byte[] PingFrameBytes = ClientFrames.Write(new PingFrame());

    private readonly ChatClientOptions _options;
    private readonly TimeProvider _time;
    private readonly CursorKeeper _cursors;
    private readonly InboxSequencer _inbox = new();
    private readonly GroupSequencer _groups = new();
    private readonly List<MsgFrame> _released = [];
    private readonly Outbox _outbox = new();
    private readonly Channel<MsgFrame> _messages = Channel.CreateUnbounded<MsgFrame>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstWelcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly Lock _ackGate = new();
    private Task? _start;
    private Task _run = Task.CompletedTask;
    private volatile Connection? _connection;
    private volatile WelcomeFrame? _welcome;
    private ChatClientState _state;
    private ChatDisconnect? _lastDisconnect;
    private int _disposed;
    private int _connectionIds;
    private long _duplicatesDropped;

    // Receive side, guarded by _ackGate: cur_max as surfaced to the app, and the pending cumulative ack.
    private long _surfacedMax = -1;
    private long _ackedSeq = -1;
    private int _unacked;
    private bool _ackForced;
    private DateTimeOffset _ackDue = DateTimeOffset.MaxValue;
    // Every group ack is due again (a new connection: the last ones may have died with the old socket).
    private bool _groupAcksForced;
    // cur_max while messages wait behind a gap (the sync cursor), -1 when there is none.
    private long _gapAfter = -1;

    public ChatClient(ChatClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = options.TimeProvider;
        _cursors = new CursorKeeper(options.CursorStore, _time);
        _cursors.SaveFailed += e => RaiseError(null, e);
        _stop.Token.Register(() => _stopped.TrySetResult());
    }

    public ChatClientState State
    {
        get { lock (_gate) return _state; }
    }

    /// <summary>Why the last connection ended (close code and meaning), or null while none has.</summary>
    public ChatDisconnect? LastDisconnect
    {
        get { lock (_gate) return _lastDisconnect; }
    }

    /// <summary>The latest <c>welcome</c>: user, device, node, head, heartbeat.</summary>
    public WelcomeFrame? Welcome => _welcome;

    /// <summary>Highest contiguous inbox <c>seq</c> surfaced (cur_max); null while unknown. A group message held
    /// behind a <c>cseq</c> gap keeps it (and the ack) below its <c>seq</c> until the gap is filled.</summary>
    public long? Cursor
    {
        get { lock (_ackGate) return _surfacedMax >= 0 ? _surfacedMax : null; }
    }

    /// <summary>Per group, the highest contiguous <c>cseq</c> surfaced (the group cursor sent in <c>hello.groups</c>
    /// and, for large groups, acknowledged with <c>ack {group, cseq}</c>).</summary>
    public IReadOnlyDictionary<string, long> GroupCursors => _groups.Cursors() ?? [];

    /// <summary>Received messages dropped as already surfaced or held (retransmissions, repeated pages, the other path of a group).</summary>
    internal long DuplicatesDropped => Interlocked.Read(ref _duplicatesDropped);

    /// <summary>Sends and operations without an <c>ack</c> yet.</summary>
    public int PendingSends => _outbox.Count;

    /// <summary>
    /// Received messages, each exactly once: inbox messages in <c>seq</c> order, and each group's messages in <c>cseq</c> order.
    /// The inbox includes this user's own sends (from this device too: from the <c>ack</c> when it carries the <c>seq</c>).
    /// Timeline entries with a negative type are among them: membership events, and operation entries (−10 … −13), which
    /// the client also applies to its message state (<see cref="GetMessageState"/>, <see cref="MessageEdited"/> …).
    /// </summary>
    public ChannelReader<MsgFrame> Messages => _messages.Reader;

    /// <summary>Raised for each message as it is surfaced (after it is written to <see cref="Messages"/>), on the receive loop: keep handlers short.</summary>
    public event EventHandler<MsgFrame>? MessageReceived;

    public event EventHandler<ChatStateChangedEventArgs>? StateChanged;

    /// <summary>Server errors not tied to a request, and failures of background work (cursor saves, handlers).</summary>
    public event EventHandler<ChatErrorEventArgs>? Error;

    /// <summary>
    /// Loads the cursor store, starts the connection loop and waits for the first <c>welcome</c>. Transient failures are
    /// retried with backoff meanwhile; a refused token throws <see cref="ChatException"/> (<c>unauthorized</c>).
    /// Cancelling stops the wait, not the client.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Task start;
        lock (_gate) start = _start ??= StartAsync();
        await start.WaitAsync(cancellationToken);
        await _firstWelcome.Task.WaitAsync(cancellationToken);
    }

    private async Task StartAsync()
    {
        await Task.Yield(); // leave the caller's lock
        await _cursors.LoadAsync(_stop.Token);
        var stored = _cursors.Seq;
        _inbox.Reset(stored);
        _groups.Reset(_cursors.Groups);
        lock (_ackGate)
        {
            _surfacedMax = stored ?? -1;
            _ackedSeq = stored ?? -1;
        }
        _run = Task.Run(RunAsync);
    }

    /// <summary>Queues a message and returns its handle at once; it goes out as soon as a connection is welcomed.</summary>
    /// <param name="ope"><see cref="Protocol.Ope"/>: 0 one-to-one, 1 group.</param>
    /// <param name="to">Recipient user id or group id.</param>
    /// <param name="type">Application message type.</param>
    /// <param name="body">A JSON object.</param>
    /// <param name="ex">Optional JSON object.</param>
    /// <param name="reply">The id of the message of the same conversation this one answers (docs/protocol.md §13.1).</param>
    /// <param name="mentions">1–50 distinct user ids of members, or <c>["@all"]</c>.</param>
    public OutgoingMessage Send(int ope, string to, int type, JsonElement body, JsonElement? ex = null, string? reply = null,
        IReadOnlyList<string>? mentions = null)
    {
        ValidateSend(ope, to, body, ex, reply, mentions);
        EnsureStarted();
        return Enqueue(Create(_cursors.AllocateReq(), ope, to, type, body, ex, reply, mentions));
    }

    /// <summary>Like <see cref="Send"/>, but first waits until the cursor store has recorded the new <c>req</c> as used.</summary>
    public async ValueTask<OutgoingMessage> SendAsync(int ope, string to, int type, JsonElement body, JsonElement? ex = null,
        string? reply = null, IReadOnlyList<string>? mentions = null, CancellationToken cancellationToken = default)
    {
        ValidateSend(ope, to, body, ex, reply, mentions);
        EnsureStarted();
        var message = Create(_cursors.AllocateReq(), ope, to, type, body, ex, reply, mentions);
        await _cursors.EnsureReservedAsync(message.Req, cancellationToken);
        return Enqueue(message);
    }

    /// <summary>Sends a <see cref="OutgoingStatus.Failed"/> message again with the same <c>req</c> (the server answers the
    /// original ack if it had accepted it). Returns a new handle.</summary>
    public OutgoingMessage Retry(OutgoingMessage failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        ThrowUnlessFailed(failed);
        EnsureStarted();
        return Enqueue(Create(failed.Req, failed.Ope, failed.To, failed.Type, failed.Body, failed.Ex, failed.Reply, failed.Mentions));
    }

    /// <summary>Sends again a message this device issued earlier, e.g. from an outbox the app kept across a restart.</summary>
    public OutgoingMessage Retry(long req, int ope, string to, int type, JsonElement body, JsonElement? ex = null, string? reply = null,
        IReadOnlyList<string>? mentions = null)
    {
        ValidateSend(ope, to, body, ex, reply, mentions);
        EnsureStarted();
        if (req < 1 || req > _cursors.IssuedHigh)
            throw new ArgumentOutOfRangeException(nameof(req), req, "only a req this device issued before can be retried");
        return Enqueue(Create(req, ope, to, type, body, ex, reply, mentions));
    }

    /// <summary>One <c>sync</c> round trip: inbox entries after <paramref name="after"/>. New ones are also surfaced on <see cref="Messages"/>.</summary>
    public async Task<SyncReplyFrame> SyncAsync(long after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        if (limit is < 1 or > 500) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit is 1–500");
        var connection = _connection ?? throw NotConnected();
        return await SyncOnAsync(connection, after, limit, cancellationToken);
    }

    /// <summary>
    /// One <c>gsync</c> round trip: the messages of group <paramref name="group"/> after <c>cseq</c>
    /// <paramref name="after"/> that this user may read. New ones are also surfaced on <see cref="Messages"/>, in
    /// <c>cseq</c> order. Large-group gaps and hello pages are continued by the client itself; this is for apps that
    /// page a group's timeline on their own. Refusals throw <see cref="ChatException"/> (<c>forbidden</c>, <c>not_found</c>).
    /// </summary>
    public async Task<GsyncReplyFrame> GsyncAsync(string group, long after, int limit, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.IsValidId(group)) throw new ArgumentException("group must match [A-Za-z0-9_.-]{1,64}", nameof(group));
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        if (limit is < 1 or > 500) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit is 1–500");
        var connection = _connection ?? throw NotConnected();
        return await GsyncOnAsync(connection, group, after, limit, cancellationToken);
    }

    /// <summary>One <c>ping</c>/<c>pong</c> round trip; returns its duration.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var connection = _connection ?? throw NotConnected();
        return await PingOnAsync(connection, cancellationToken);
    }

    /// <summary>Drops the current socket without a close handshake, as a dead network path would (tests).</summary>
    internal void DropConnection() => _connection?.Abort();

    /// <summary>Acknowledges what was surfaced, closes the socket (1000), saves the cursors (including what was surfaced
    /// during the close). Pending sends stay Pending and their <see cref="OutgoingRequest.Acked"/> tasks are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        Task? start;
        lock (_gate) start = _start;
        if (start is not null)
        {
            try { await start; } catch { /* a failed load already surfaced through ConnectAsync */ }
            await _run;
            // Messages keep arriving until the server's close does, after the last ack: what was surfaced meanwhile is
            // recorded too, or the next start (whose hello carries the stored cursors) would surface it again.
            long seq;
            lock (_ackGate) seq = _surfacedMax;
            _cursors.Record(seq >= 1 ? seq : null, _groups.Cursors());
        }
        await _cursors.FlushAsync();
        foreach (var message in _outbox.TakeAll()) message.Abandon();
        _firstWelcome.TrySetException(new ObjectDisposedException(nameof(ChatClient)));
        _ = _firstWelcome.Task.Exception;
        _messages.Writer.TryComplete();
        _ownHttp?.Dispose();
        SetState(ChatClientState.Closed, null);
    }

    // Replies carry no request id: the connection matches them to requests by wire order (see PendingReply).
    private async Task<SyncReplyFrame> SyncOnAsync(Connection connection, long after, int limit, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<SyncReplyFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await WriteOrThrowAsync(connection, ClientFrames.Write(new SyncFrame { After = after, Limit = limit }),
            () => connection.ExpectReply(PendingReply.ForSync(waiter)));
        return await AwaitReplyAsync(waiter.Task, cancellationToken);
    }

    private async Task<GsyncReplyFrame> GsyncOnAsync(Connection connection, string group, long after, int limit, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<GsyncReplyFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await WriteOrThrowAsync(connection, ClientFrames.Write(new GsyncFrame { Group = group, After = after, Limit = limit }),
            () => connection.ExpectReply(PendingReply.ForGsync(waiter, group, after)));
        return await AwaitReplyAsync(waiter.Task, cancellationToken);
    }

    private async Task<TimeSpan> PingOnAsync(Connection connection, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        await WriteOrThrowAsync(connection, PingFrameBytes, () => connection.ExpectReply(PendingReply.ForPong(waiter, _time.GetTimestamp())));
        return await AwaitReplyAsync(waiter.Task, cancellationToken);
    }

    private static async Task WriteOrThrowAsync(Connection connection, byte[] frame, Action whileLocked)
    {
        try
        {
            await connection.WriteAsync(frame, whileLocked);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException)
        {
            throw new ChatException(ClientErrorCodes.Disconnected, "the connection dropped", e);
        }
    }

    private async Task<T> AwaitReplyAsync<T>(Task<T> reply, CancellationToken cancellationToken)
    {
        try
        {
            return await reply.WaitAsync(_options.RequestTimeout, _time, cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new ChatException(ClientErrorCodes.Timeout, $"no reply within {_options.RequestTimeout}", e);
        }
    }

    private static ChatException NotConnected() => new(ClientErrorCodes.NotConnected, "the client is not connected");

    private void EnsureStarted()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_cursors.IsLoaded) throw new InvalidOperationException("call ConnectAsync first: reqs come from the cursor store");
    }

    private static void ValidateSend(int ope, string to, JsonElement body, JsonElement? ex, string? reply, IReadOnlyList<string>? mentions)
    {
        if (ope is not (Protocol.Ope.OneToOne or Protocol.Ope.Group))
            throw new ArgumentOutOfRangeException(nameof(ope), ope, "ope is 0 (one-to-one) or 1 (group)");
        if (!Identifiers.IsValidId(to)) throw new ArgumentException("to must match [A-Za-z0-9_.-]{1,64}", nameof(to));
        ValidateContent(body, ex);
        if (reply is not null) ValidateMessageId(reply, nameof(reply));
        if (mentions is not null) ValidateMentions(mentions);
    }

    private static void ValidateContent(JsonElement body, JsonElement? ex)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new ArgumentException("body must be a JSON object", nameof(body));
        if (ex is { ValueKind: not JsonValueKind.Object }) throw new ArgumentException("ex must be a JSON object", nameof(ex));
    }

    private static void ValidateMentions(IReadOnlyList<string> mentions)
    {
        if (mentions.Count is 0 or > OperationTypes.MaxMentions)
            throw new ArgumentException($"mentions holds 1–{OperationTypes.MaxMentions} user ids", nameof(mentions));
        if (mentions.Count == 1 && mentions[0] == OperationTypes.MentionAll) return;
        if (mentions.Any(m => !Identifiers.IsValidId(m)))
            throw new ArgumentException($"mentions holds user ids, or exactly \"{OperationTypes.MentionAll}\"", nameof(mentions));
        if (mentions.Distinct(StringComparer.Ordinal).Count() != mentions.Count)
            throw new ArgumentException("mentions must be distinct", nameof(mentions));
    }

    /// <summary>Message ids are decimal strings of a 64-bit Snowflake id.</summary>
    private static void ValidateMessageId(string id, string name)
    {
        if (id.Length is 0 or > 20 || !id.All(char.IsAsciiDigit)) throw new ArgumentException("a message id is a decimal string", name);
    }

    private OutgoingMessage Create(long req, int ope, string to, int type, JsonElement body, JsonElement? ex, string? reply,
        IReadOnlyList<string>? mentions)
    {
        body = body.Clone();
        ex = ex?.Clone();
        mentions = mentions?.ToArray();
        var frame = ClientFrames.Write(new SendFrame { Req = req, Ope = ope, To = to, Type = type, Body = body, Ex = ex, Reply = reply, Mentions = mentions });
        var message = new OutgoingMessage(req, ope, to, type, body, ex, reply, mentions, frame);
        RefuseOversize(message, body, ex);
        return message;
    }

    /// <summary>
    /// The server would refuse a body + ex over its limit (too_large) or close the socket (4413) for a frame over its
    /// limit, and the retransmission after reconnect would do it again: such a request fails here instead.
    /// </summary>
    private void RefuseOversize(OutgoingRequest request, JsonElement? body, JsonElement? ex)
    {
        var payload = (body is { } b ? Encoding.UTF8.GetByteCount(b.GetRawText()) : 0)
            + (ex is { } e ? Encoding.UTF8.GetByteCount(e.GetRawText()) : 0);
        if (payload > _options.MaxBodyBytes || request.Frame.Length > _options.MaxFrameBytes)
        {
            request.TryMarkFailed(ErrorCodes.TooLarge,
                $"body+ex is {payload} bytes and the frame {request.Frame.Length}; limits are {_options.MaxBodyBytes} and {_options.MaxFrameBytes}");
            request.Announce();
        }
    }

    private static void ThrowUnlessFailed(OutgoingRequest failed)
    {
        if (failed.Status != OutgoingStatus.Failed)
            throw new InvalidOperationException($"req {failed.Req} is {failed.Status}; only a Failed request can be retried");
    }

    private T Enqueue<T>(T request) where T : OutgoingRequest
    {
        if (request.Status == OutgoingStatus.Failed) return request;
        if (!_outbox.TryAdd(request)) throw new InvalidOperationException($"req {request.Req} is already pending");
        if (Volatile.Read(ref _disposed) != 0) request.Abandon();
        Wake();
        return request;
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private void SetState(ChatClientState state, ChatDisconnect? disconnect)
    {
        ChatClientState previous;
        lock (_gate)
        {
            previous = _state;
            if (previous == state || previous == ChatClientState.Closed) return;
            if (previous == ChatClientState.Unauthorized && state != ChatClientState.Closed) return;
            _state = state;
        }
        try
        {
            StateChanged?.Invoke(this, new ChatStateChangedEventArgs(previous, state, disconnect));
        }
        catch (Exception e)
        {
            RaiseError(null, e);
        }
    }

    private void RaiseError(ErrorFrame? frame, Exception? exception)
    {
        try
        {
            Error?.Invoke(this, new ChatErrorEventArgs(frame, exception));
        }
        catch
        {
            // An error handler that throws has nowhere further to report to.
        }
    }
}
