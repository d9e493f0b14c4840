using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Client;

/// <summary>The client SDK against the scripted fake server, over real WebSockets.</summary>
public sealed class ChatClientTests : IAsyncLifetime
{
    private FakeChatServer _server = null!;
    private readonly List<ChatClient> _clients = [];

    public async Task InitializeAsync() => _server = await FakeChatServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static JsonElement Body(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text })).RootElement;

    private ChatClient NewClient(
        TimeProvider? time = null,
        ICursorStore? store = null,
        TimeSpan? sendTimeout = null,
        int maxSendAttempts = 5,
        int ackBatchSize = 100,
        TimeSpan? ackBatchDelay = null)
    {
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.Uri,
            TokenProvider = _ => ValueTask.FromResult("token-alice"),
            Device = "phone",
            CursorStore = store ?? new InMemoryCursorStore(),
            SendTimeout = sendTimeout ?? TimeSpan.FromSeconds(30),
            MaxSendAttempts = maxSendAttempts,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            ReconnectJitter = 0,
            AckBatchSize = ackBatchSize,
            AckBatchDelay = ackBatchDelay ?? TimeSpan.FromMilliseconds(50),
            TimeProvider = time ?? TimeProvider.System,
        });
        _clients.Add(client);
        return client;
    }

    private async Task<FakeConnection> ConnectionAsync(int number)
    {
        await Wait.UntilAsync(() => _server.Connections.Count >= number && _server.Connections[number - 1].Hello is not null,
            $"connection {number} says hello");
        return _server.Connections[number - 1];
    }

    private List<ReceivedFrame> Frames(string type) => _server.Received.Where(f => f.Type == type).ToList();

    // ------------------------------------------------------------------ sending

    [Fact]
    public async Task A_send_without_ack_is_retransmitted_with_the_same_req_and_completes_once_when_acked()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        // The first send's first two transmissions go unanswered; everything else is acknowledged.
        _server.OnSend = (send, _, attempt) => send.Body.GetProperty("text").GetString() == "hello" && attempt < 3 ? SendVerdict.Withhold : SendVerdict.Ack;
        var client = NewClient(time, sendTimeout: TimeSpan.FromSeconds(5));
        await client.ConnectAsync();

        var message = client.Send(Ope.OneToOne, "bob", 1, Body("hello"));
        var transitions = new List<OutgoingStatus>();
        message.StatusChanged += (_, status) => { lock (transitions) transitions.Add(status); };

        await Wait.UntilAsync(() => _server.SendAttempts(message.Req) == 1, "the first transmission");
        time.Advance(TimeSpan.FromSeconds(5));
        await Wait.UntilAsync(() => _server.SendAttempts(message.Req) == 2, "a retransmission after the send timeout");
        Assert.Equal(OutgoingStatus.Pending, message.Status);
        time.Advance(TimeSpan.FromSeconds(5));
        var receipt = await Wait.ForAsync(message.Acked, "the ack of the third attempt");

        var transmissions = Frames(FrameTypes.Send);
        Assert.Equal(3, transmissions.Count);
        Assert.All(transmissions, f => Assert.Equal(message.Req, f.As<SendFrame>().Req));
        Assert.Equal(OutgoingStatus.Sent, message.Status);
        Assert.Equal(receipt.Id, message.Id);
        Assert.Equal("s:alice:bob", message.Conv);
        await Wait.UntilAsync(() => { lock (transitions) return transitions.Count == 1; }, "the Sent notification");

        // Acknowledged means done: time passing retransmits nothing more. The writer puts an overdue retransmission
        // before a newer req, so once the next send has arrived any retransmission of the first would have too.
        time.Advance(TimeSpan.FromSeconds(20));
        var next = client.Send(Ope.OneToOne, "bob", 1, Body("next"));
        await Wait.ForAsync(next.Acked, "the next send's ack");
        Assert.Equal(3, _server.SendAttempts(message.Req));
        lock (transitions) Assert.Equal([OutgoingStatus.Sent], transitions);
    }

    [Fact]
    public async Task A_send_is_failed_after_MaxSendAttempts_and_a_retry_keeps_its_req()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        var acking = false;
        _server.OnSend = (_, _, _) => Volatile.Read(ref acking) ? SendVerdict.Ack : SendVerdict.Withhold;
        var client = NewClient(time, sendTimeout: TimeSpan.FromSeconds(5), maxSendAttempts: 3);
        await client.ConnectAsync();

        var message = client.Send(Ope.OneToOne, "bob", 1, Body("lost"));
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await Wait.UntilAsync(() => _server.SendAttempts(message.Req) == attempt, $"transmission {attempt}");
            time.Advance(TimeSpan.FromSeconds(5));
        }

        var failure = await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(message.Acked, "the failure"));
        Assert.Equal(ClientErrorCodes.Timeout, failure.Code);
        Assert.Equal(OutgoingStatus.Failed, message.Status);
        Assert.Equal(3, message.Attempts);
        Assert.Equal(3, _server.SendAttempts(message.Req));

        Volatile.Write(ref acking, true);
        var retry = client.Retry(message);
        await Wait.ForAsync(retry.Acked, "the retry's ack");
        Assert.Equal(message.Req, retry.Req);
        Assert.Equal(4, _server.SendAttempts(message.Req));
    }

    [Fact]
    public async Task Unacked_sends_are_retransmitted_in_req_order_after_a_reconnect_before_new_ones()
    {
        _server.OnSend = (_, connection, _) => connection.Id == 1 ? SendVerdict.Withhold : SendVerdict.Ack;
        var client = NewClient();
        await client.ConnectAsync();
        var first = await ConnectionAsync(1);

        var early = new[] { "a", "b", "c" }.Select(text => client.Send(Ope.OneToOne, "bob", 1, Body(text))).ToList();
        await Wait.UntilAsync(() => _server.Frames<SendFrame>(FrameTypes.Send, connection: 1).Count == 3, "three sends on connection 1");

        _server.HoldWelcome = new TaskCompletionSource();
        first.Abort();
        await ConnectionAsync(2);
        Assert.Equal(ChatClientState.Reconnecting, client.State);
        var late = client.Send(Ope.OneToOne, "bob", 1, Body("d"));
        _server.HoldWelcome.SetResult();

        foreach (var message in early.Append(late)) await Wait.ForAsync(message.Acked, $"the ack of req {message.Req}");
        var resent = _server.Frames<SendFrame>(FrameTypes.Send, connection: 2).Select(f => f.Req).ToList();
        Assert.Equal(early.Append(late).Select(m => m.Req), resent);
        Assert.Equal(resent.Order(), resent);
        Assert.Equal(ChatClientState.Connected, client.State);
    }

    [Fact]
    public async Task A_refused_send_fails_with_the_server_code_and_is_not_retried()
    {
        _server.OnSend = (send, _, _) => send.To == "stranger" ? SendVerdict.Error(ErrorCodes.Forbidden) : SendVerdict.Ack;
        var client = NewClient();
        await client.ConnectAsync();

        var refused = client.Send(Ope.Group, "stranger", 1, Body("let me in"));
        var failure = await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(refused.Acked, "the refusal"));
        Assert.Equal(ErrorCodes.Forbidden, failure.Code);
        Assert.Equal(ErrorCodes.Forbidden, refused.ErrorCode);
        Assert.Equal(OutgoingStatus.Failed, refused.Status);

        await Wait.ForAsync(client.Send(Ope.OneToOne, "bob", 1, Body("fine")).Acked, "a later send's ack");
        Assert.Equal(1, _server.SendAttempts(refused.Req));
    }

    [Fact]
    public async Task A_rate_limited_send_is_retried_after_backoff_with_the_same_req()
    {
        _server.OnSend = (_, _, attempt) => attempt == 1 ? SendVerdict.Error(ErrorCodes.RateLimited) : SendVerdict.Ack;
        var client = NewClient();
        await client.ConnectAsync();

        var message = client.Send(Ope.OneToOne, "bob", 1, Body("slow down"));
        await Wait.ForAsync(message.Acked, "the ack after the backoff");
        Assert.Equal(2, _server.SendAttempts(message.Req));
        Assert.Equal(2, message.Attempts);
    }

    [Fact]
    public async Task A_send_too_large_for_the_server_fails_locally_and_is_never_transmitted()
    {
        var client = NewClient();
        await client.ConnectAsync();

        var message = client.Send(Ope.OneToOne, "bob", 1, Body(new string('x', 17 * 1024)));
        Assert.Equal(OutgoingStatus.Failed, message.Status);
        Assert.Equal(ErrorCodes.TooLarge, message.ErrorCode);
        await Wait.ForAsync(client.Send(Ope.OneToOne, "bob", 1, Body("small")).Acked, "a small send's ack");
        Assert.Equal(0, _server.SendAttempts(message.Req));
    }

    // ------------------------------------------------------------------ receiving

    [Fact]
    public async Task A_message_delivered_twice_is_surfaced_once()
    {
        var client = NewClient();
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);

        await connection.PushAsync(FakeChatServer.Message(1), FakeChatServer.Message(1), FakeChatServer.Message(2));

        Assert.Equal(1, (await Wait.ReadAsync(client.Messages, "seq 1")).Seq);
        Assert.Equal(2, (await Wait.ReadAsync(client.Messages, "seq 2")).Seq);
    }

    [Fact]
    public async Task A_seq_gap_is_filled_with_sync_and_messages_surface_in_order()
    {
        var client = NewClient();
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        var inbox = Enumerable.Range(1, 5).Select(seq => _server.AddToInbox(seq)).ToList();

        await connection.PushAsync(inbox[0], inbox[2], inbox[3]); // 2 is missing

        var surfaced = new List<long>();
        for (var i = 0; i < 4; i++) surfaced.Add((await Wait.ReadAsync(client.Messages, $"message {i + 1}")).Seq!.Value);
        Assert.Equal([1, 2, 3, 4], surfaced);
        var sync = Assert.Single(_server.Frames<SyncFrame>(FrameTypes.Sync));
        Assert.Equal(1, sync.After);

        // The sync page repeated 3 and 4, which were already held: the next message out is 5, not a copy.
        await connection.PushAsync(inbox[4]);
        Assert.Equal(5, (await Wait.ReadAsync(client.Messages, "seq 5")).Seq);
        Assert.Equal(5, client.Cursor);
    }

    [Fact]
    public async Task Messages_without_seq_are_surfaced_once_by_id()
    {
        var client = NewClient();
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);

        var groupMessage = FakeChatServer.Message(seq: null, id: "777", cseq: 9);
        await connection.PushAsync(groupMessage, groupMessage, FakeChatServer.Message(1));

        Assert.Equal("777", (await Wait.ReadAsync(client.Messages, "the group message")).Id);
        Assert.Equal(1, (await Wait.ReadAsync(client.Messages, "seq 1")).Seq);
    }

    [Fact]
    public async Task Acks_are_cumulative_and_batched()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        var store = new InMemoryCursorStore();
        var client = NewClient(time, store, ackBatchSize: 4, ackBatchDelay: TimeSpan.FromSeconds(1));
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        List<long?> Acks() => _server.Frames<AckFrame>(FrameTypes.Ack).Select(a => a.Seq).ToList();

        // One message at a time, each surfaced before the next is pushed: an ack per message would show here.
        async Task DeliverAsync(int from, int to)
        {
            for (var seq = from; seq <= to; seq++)
            {
                await connection.PushAsync(FakeChatServer.Message(seq));
                Assert.Equal(seq, (await Wait.ReadAsync(client.Messages, $"seq {seq}")).Seq);
            }
        }

        await DeliverAsync(1, 4);
        await Wait.UntilAsync(() => Acks().Count >= 1, "the ack of a full batch");
        Assert.Equal([4], Acks());
        await DeliverAsync(5, 8);
        await Wait.UntilAsync(() => Acks().Count >= 2, "the ack of the second batch");
        Assert.Equal([4, 8], Acks());

        await DeliverAsync(9, 10);
        Assert.Equal([4, 8], Acks()); // a part batch waits for AckBatchDelay, and the fake clock has not moved

        time.Advance(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => Acks().Count == 3, "the ack after the batch delay");
        Assert.Equal([4, 8, 10], Acks());
        await Wait.UntilAsync(() => store.Current?.Seq == 10, "the cursor saved after the ack");
    }

    // ------------------------------------------------------------------ connection

    [Fact]
    public async Task A_reconnect_says_hello_with_the_stored_cursor()
    {
        var store = new InMemoryCursorStore();
        var client = NewClient(store: store, ackBatchSize: 3, ackBatchDelay: TimeSpan.FromSeconds(30));
        await client.ConnectAsync();
        var first = await ConnectionAsync(1);
        Assert.Null(first.Hello!.Cursor);
        Assert.DoesNotContain("cursor", _server.Received[0].Json, StringComparison.Ordinal);

        await first.PushAsync(FakeChatServer.Message(1), FakeChatServer.Message(2), FakeChatServer.Message(3));
        await Wait.UntilAsync(() => store.Current?.Seq == 3, "the cursor saved after the ack");
        first.Abort();

        var second = await ConnectionAsync(2);
        Assert.Equal(3, second.Hello!.Cursor);
        await Wait.UntilAsync(() => client.State == ChatClientState.Connected, "connected again");
    }

    [Fact]
    public async Task A_restarted_client_resumes_from_the_stored_cursor_and_never_reuses_a_req()
    {
        // The clock stands still across the restart: only the stored req keeps the new reqs apart.
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        var store = new InMemoryCursorStore();
        var before = NewClient(time, store, ackBatchSize: 2);
        await before.ConnectAsync();
        var sent = new[] { before.Send(Ope.OneToOne, "bob", 1, Body("1")), before.Send(Ope.OneToOne, "bob", 1, Body("2")) };
        foreach (var message in sent) await Wait.ForAsync(message.Acked, "an ack");
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, sent[0].Req);
        await (await ConnectionAsync(1)).PushAsync(FakeChatServer.Message(1), FakeChatServer.Message(2));
        await Wait.UntilAsync(() => store.Current?.Seq == 2, "the cursor saved");
        await before.DisposeAsync();

        var after = NewClient(time, store);
        await after.ConnectAsync();
        Assert.Equal(2, (await ConnectionAsync(2)).Hello!.Cursor);
        var next = await after.SendAsync(Ope.OneToOne, "bob", 1, Body("3"));
        Assert.True(next.Req > sent[1].Req, $"req {next.Req} must be above {sent[1].Req}");
    }

    [Fact]
    public async Task Messages_surfaced_while_the_client_closes_are_recorded_and_not_surfaced_again_by_the_next_start()
    {
        var store = new InMemoryCursorStore();
        var first = NewClient(store: store);
        await first.ConnectAsync();
        var connection = await ConnectionAsync(1);
        await connection.PushAsync(FakeChatServer.Message(1));
        Assert.Equal(1, (await Wait.ReadAsync(first.Messages, "seq 1")).Seq);

        // These arrive after the client's last ack, while the server drains before answering the close.
        _server.BeforeCloseReply = c => c.PushAsync(FakeChatServer.Message(2), FakeChatServer.GroupMessage("g1", 5));
        await first.DisposeAsync();
        Assert.Equal(2, (await Wait.ReadAsync(first.Messages, "seq 2")).Seq);
        Assert.Equal(5, (await Wait.ReadAsync(first.Messages, "g1 cseq 5")).Cseq);
        Assert.Equal(2, store.Current!.Seq);
        Assert.Equal(5, store.Current.Groups!["g1"]);

        _server.BeforeCloseReply = null;
        var second = NewClient(store: store);
        await second.ConnectAsync();
        var hello = (await ConnectionAsync(2)).Hello!;
        Assert.Equal(2, hello.Cursor);
        Assert.Equal(5, hello.Groups!["g1"]);
    }

    [Fact]
    public async Task A_4401_close_stops_reconnecting_and_surfaces_unauthorized()
    {
        var client = NewClient();
        var states = new List<ChatStateChangedEventArgs>();
        client.StateChanged += (_, change) => { lock (states) states.Add(change); };
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);

        await connection.CloseAsync(CloseCodes.Unauthorized, "token expired");

        await Wait.UntilAsync(() => client.State == ChatClientState.Unauthorized, "the Unauthorized state");
        Assert.Equal(CloseCodes.Unauthorized, client.LastDisconnect!.CloseCode);
        Assert.Contains("unauthorized", client.LastDisconnect.Meaning, StringComparison.Ordinal);
        lock (states) Assert.Equal(CloseCodes.Unauthorized, states[^1].Disconnect?.CloseCode);
        // A reconnecting client would be back within ~10 ms; give it fifty times that.
        Assert.False(await Wait.TryUntilAsync(() => _server.Connections.Count > 1, TimeSpan.FromMilliseconds(500)),
            "the client reconnected after a 4401 close");
    }

    [Fact]
    public async Task A_refused_hello_fails_ConnectAsync_as_unauthorized()
    {
        _server.RefuseHello = true;
        var client = NewClient();

        var failure = await Assert.ThrowsAsync<ChatException>(() => client.ConnectAsync().WaitAsync(Wait.Deadline));
        Assert.Equal(ErrorCodes.Unauthorized, failure.Code);
        Assert.Equal(ChatClientState.Unauthorized, client.State);
        Assert.True(client.LastDisconnect!.IsUnauthorized);
    }

    [Theory]
    [InlineData(CloseCodes.Protocol, "protocol")]
    [InlineData(CloseCodes.TooLarge, "too large")]
    [InlineData(CloseCodes.RateLimited, "rate limited")]
    public async Task Other_close_codes_are_surfaced_with_their_meaning_and_the_client_reconnects(int code, string meaning)
    {
        var client = NewClient();
        var reconnecting = new TaskCompletionSource<ChatDisconnect>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, change) =>
        {
            if (change.State == ChatClientState.Reconnecting && change.Disconnect is { } d) reconnecting.TrySetResult(d);
        };
        await client.ConnectAsync();

        await (await ConnectionAsync(1)).CloseAsync(code, "scripted");

        var disconnect = await Wait.ForAsync(reconnecting.Task, "the Reconnecting state");
        Assert.Equal(code, disconnect.CloseCode);
        Assert.Contains(meaning, disconnect.Meaning, StringComparison.Ordinal);
        await ConnectionAsync(2);
        await Wait.UntilAsync(() => client.State == ChatClientState.Connected, "connected again");
    }

    [Fact]
    public async Task Sync_and_ping_are_request_response_helpers()
    {
        var client = NewClient();
        await client.ConnectAsync();
        for (var seq = 1; seq <= 3; seq++) _server.AddToInbox(seq);

        var page = await client.SyncAsync(after: 1, limit: 10);
        Assert.Equal([2L, 3L], page.Items.Select(m => m.Seq!.Value));
        Assert.Equal(3, page.Next);
        Assert.False(page.More);

        var rtt = await client.PingAsync();
        Assert.True(rtt >= TimeSpan.Zero);
        Assert.Single(Frames(FrameTypes.Ping));
    }

    [Fact]
    public async Task The_client_pings_at_the_welcome_heartbeat()
    {
        _server.Heartbeat = 1;
        var client = NewClient();
        await client.ConnectAsync();

        await Wait.UntilAsync(() => Frames(FrameTypes.Ping).Count >= 1, "a heartbeat ping");
        Assert.Equal(ChatClientState.Connected, client.State);
    }
}
