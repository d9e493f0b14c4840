using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Pipeline;
using AspireChat.Protocol;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Delivery;

/// <summary>What each client frame does (docs/protocol.md): a bad frame gets an <c>error</c>, and abuse closes the session.</summary>
public sealed partial class DeviceSession
{
    /// <summary>
    /// One text frame the transport read (within the frame size limit). Before the welcome only <c>hello</c> is taken;
    /// anything else, or a hello with a bad token, closes 4401. After it: <c>send</c>, <c>ping</c>, <c>ack</c>,
    /// <c>sync</c>, <c>gsync</c>, <c>read</c>, <c>typing</c>, and the operations <c>edit</c>, <c>recall</c>, <c>react</c>, <c>pin</c>. A bad frame is answered <c>error</c> (more than 10 within
    /// 10 s close 4400); a backing service that fails is answered <c>unavailable</c>.
    /// </summary>
    public async ValueTask HandleAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        var awaitingHello = State == DeviceSessionState.AwaitingHello;
        string type;
        try
        {
            type = FrameCodec.ReadType(frame.Span);
        }
        catch (FrameException e)
        {
            if (awaitingHello) RefuseHello(e.Message);
            else BadFrame(e, null);
            return;
        }

        try
        {
            if (awaitingHello)
            {
                if (type != FrameTypes.Hello) RefuseHello("the first frame must be hello");
                else await AuthenticateAsync(frame, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (!Charge(1, CarriesReq(type) ? FrameCodec.TryReadReq(frame.Span) : null)) return;
            await (type switch
            {
                FrameTypes.Send => SendAsync(FrameCodec.Read<SendFrame>(frame.Span), cancellationToken),
                FrameTypes.Ping => Answer(new PongFrame()),
                FrameTypes.Ack => AckAsync(FrameCodec.Read<AckFrame>(frame.Span), cancellationToken),
                FrameTypes.Sync => SyncAsync(FrameCodec.Read<SyncFrame>(frame.Span), cancellationToken),
                FrameTypes.Gsync => GsyncAsync(FrameCodec.Read<GsyncFrame>(frame.Span), cancellationToken),
                FrameTypes.Read => ReadAsync(FrameCodec.Read<ReadFrame>(frame.Span), cancellationToken),
                FrameTypes.Typing => TypingAsync(FrameCodec.Read<TypingFrame>(frame.Span), cancellationToken),
                FrameTypes.Edit => TakeAsync(OperationRequests.Edit(FrameCodec.Read<EditFrame>(frame.Span), User, _limits.MaxBodyBytes), cancellationToken),
                FrameTypes.Recall => TakeAsync(OperationRequests.Recall(FrameCodec.Read<RecallFrame>(frame.Span), User), cancellationToken),
                FrameTypes.React => TakeAsync(OperationRequests.React(FrameCodec.Read<ReactFrame>(frame.Span), User), cancellationToken),
                FrameTypes.Pin => TakeAsync(OperationRequests.Pin(FrameCodec.Read<PinFrame>(frame.Span), User), cancellationToken),
                FrameTypes.Hello => throw new FrameException(ErrorCodes.BadFrame, "already welcomed"),
                _ => throw new FrameException(ErrorCodes.BadFrame, $"unknown frame type '{type}'"),
            }).ConfigureAwait(false);
        }
        catch (FrameException e)
        {
            BadFrame(e, CarriesReq(type) ? FrameCodec.TryReadReq(frame.Span) : null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A backing service failed: the client retries later; the connection stays (docs/protocol.md `unavailable`).
            LogFrameFailed(_logger, e, type);
            _transport.TryWrite(FrameCodec.Write(new ErrorFrame
            {
                Code = ErrorCodes.Unavailable, Message = "a backing service is unavailable; retry later",
                Req = CarriesReq(type) ? FrameCodec.TryReadReq(frame.Span) : null,
            }));
            if (awaitingHello) Close(CloseCodes.TryAgainLater, "hello failed: a backing service is unavailable");
        }
    }

    /// <summary>A frame that is not text: answered <c>bad_frame</c>, counted toward the abuse limit.</summary>
    public void NotText() => BadFrame(new FrameException(ErrorCodes.BadFrame, "frames are JSON text frames"), null);

    private async ValueTask AuthenticateAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        HelloFrame hello;
        try
        {
            hello = FrameCodec.Read<HelloFrame>(frame.Span);
        }
        catch (FrameException e)
        {
            RefuseHello("bad hello: " + e.Message);
            return;
        }
        if (await _tokens.ValidateAsync(hello.Token, cancellationToken).ConfigureAwait(false) is not { } user)
        {
            RefuseHello("invalid or expired token");
            return;
        }
        try
        {
            await HelloAsync(user, hello, cancellationToken).ConfigureAwait(false);
        }
        catch (FrameException e) when (e.Code == ErrorCodes.Unauthorized)
        {
            RefuseHello(e.Message);
        }
    }

    private ValueTask SendAsync(SendFrame send, CancellationToken cancellationToken)
    {
        if (SendValidator.Validate(send, User, _limits.MaxBodyBytes) is { } invalid) throw new FrameException(invalid.Code, invalid.Message);
        return TakeAsync(send, cancellationToken);
    }

    // A send, or an operation as the timeline entry it becomes (docs/protocol.md §13): both go through stage 0 alike.
    // A message it names may have been acknowledged but not stored yet (the distributed composition): this device's next
    // frames wait for it, so they keep their order.
    private async ValueTask TakeAsync(SendFrame send, CancellationToken cancellationToken)
    {
        var named = OperationTypes.IsOperation(send.Type) ? OperationEntries.TargetOf(send.Body) : send.Reply is { } reply ? OperationRequests.ParseId(reply) : null;
        if (named is { } id) await _messages.AwaitStoredAsync(Identifiers.ConversationOf(send.Ope, User, send.To), id, cancellationToken).ConfigureAwait(false);
        if (!await _sends.TakeAsync(User, Device, send, cancellationToken).ConfigureAwait(false)) Close(CloseCodes.RateLimited, "flooding past the rate limit");
    }

    // The frames answered by req: a send and the operations, whose errors name it.
    private static bool CarriesReq(string type) =>
        type is FrameTypes.Send or FrameTypes.Edit or FrameTypes.Recall or FrameTypes.React or FrameTypes.Pin;

    private ValueTask Answer<T>(T frame) where T : class
    {
        _transport.TryWrite(FrameCodec.Write(frame));
        return ValueTask.CompletedTask;
    }

    private async ValueTask AckAsync(AckFrame ack, CancellationToken cancellationToken)
    {
        if (ack.Group is not null || ack.Cseq is not null)
        {
            if (ack.Group is not { } gid || ack.Cseq is not { } cseq || cseq < 0 || ack.Seq is not null)
                throw new FrameException(ErrorCodes.BadFrame, "a group ack has 'group' and a non-negative 'cseq' (and no 'seq')");
            await _groupSync.AcknowledgeAsync(User, Device, gid, cseq, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (ack.Seq is not { } seq || seq < 0) throw new FrameException(ErrorCodes.BadFrame, "'seq' must be a non-negative integer");
        ChatTelemetry.Acked.Add(1);
        var span = _traces!.StartAck(seq);
        try
        {
            var (acked, positions) = await _handover!.AcknowledgeAsync(seq, _acked, cancellationToken).ConfigureAwait(false);
            if (acked > _acked)
            {
                var after = _acked;
                _acked = acked;
                // The conversations the ack covers: known from what the hand-over wrote, else read from the inbox.
                if (positions is not null) _reads.Delivered(User, positions);
                else await _reads.DeliveredAsync(User, after, acked, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            MessageTracing.StopKeepingCurrent(span);
        }
    }

    private async ValueTask SyncAsync(SyncFrame sync, CancellationToken cancellationToken)
    {
        if (sync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (sync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        if (!Charge(sync.Limit / 50.0, null)) return;
        var entries = await _claims.ReadAsync(User, sync.After, sync.Limit + 1, cancellationToken).ConfigureAwait(false);
        var more = entries.Count > sync.Limit;
        var items = entries.Take(sync.Limit).Select(e => e.ToFrame()).ToList();
        _transport.TryWrite(FrameCodec.Write(new SyncReplyFrame { Items = items, Next = items.Count > 0 ? items[^1].Seq!.Value : sync.After, More = more }));
    }

    private async ValueTask GsyncAsync(GsyncFrame gsync, CancellationToken cancellationToken)
    {
        if (gsync.Limit is < 1 or > 500) throw new FrameException(ErrorCodes.BadFrame, "'limit' must be from 1 to 500");
        if (gsync.After < 0) throw new FrameException(ErrorCodes.BadFrame, "'after' must not be negative");
        if (!Charge(gsync.Limit / 50.0, null)) return;
        _transport.TryWrite(FrameCodec.Write(await _groupSync.SyncAsync(User, gsync, cancellationToken).ConfigureAwait(false)));
    }

    private async ValueTask ReadAsync(ReadFrame read, CancellationToken cancellationToken)
    {
        if (read.Cseq < 0) throw new FrameException(ErrorCodes.BadFrame, "'cseq' must not be negative");
        var access = await _reads.MarkReadAsync(User, Device, read.Conv, read.Cseq, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }

    private async ValueTask TypingAsync(TypingFrame typing, CancellationToken cancellationToken)
    {
        // Past the limit a typing frame is dropped silently (docs/protocol.md), before any lookup.
        if (!LazyInitializer.EnsureInitialized(ref _typing, () => new TypingThrottle(_time)).TryTake(typing.Conv)) return;
        var access = await _typingRelay.RelayAsync(User, typing.Conv, cancellationToken).ConfigureAwait(false);
        if (!access.Allowed) throw new FrameException(access.Code!, access.Message!);
    }

    // Every frame of a welcomed device spends from its budget (Limits:FramesPerSecond, Limits:FrameBurst); sync and gsync
    // spend more the more they ask for. Past it the frame is answered rate_limited, and flooding on closes 4429.
    private bool Charge(double weight, long? req)
    {
        if (_frames.TryTake(weight)) return true;
        if (req is { } refused) _sends.NotTaken(refused);
        _transport.TryWrite(FrameCodec.Write(new ErrorFrame { Code = ErrorCodes.RateLimited, Message = "frame rate limit exceeded; slow down", Req = req }));
        if (AbuseCounter.Of(ref _floods, _time).Record()) Close(CloseCodes.RateLimited, "flooding past the frame rate limit");
        return false;
    }

    private void BadFrame(FrameException e, long? req)
    {
        _transport.TryWrite(FrameCodec.Write(new ErrorFrame { Code = e.Code, Message = e.Message, Req = req }));
        CountAbuse(e.Code);
    }

    // Bad frames, and frames refused as forbidden or not_found (probing what exists), count toward the abuse limit.
    private void CountAbuse(string code)
    {
        if (code is ErrorCodes.BadFrame or ErrorCodes.Forbidden or ErrorCodes.NotFound && AbuseCounter.Of(ref _badFrames, _time).Record())
            Close(CloseCodes.Protocol, "more than 10 refused frames within 10 s");
    }

    private void RefuseHello(string message)
    {
        _transport.TryWrite(FrameCodec.Write(new ErrorFrame { Code = ErrorCodes.Unauthorized, Message = message }));
        Close(CloseCodes.Unauthorized, "unauthorized");
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a '{Type}' frame failed")]
    private static partial void LogFrameFailed(ILogger logger, Exception exception, string type);
}
