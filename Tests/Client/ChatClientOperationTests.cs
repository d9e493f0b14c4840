using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Client;

/// <summary>The client SDK's message operations (docs/protocol.md §13) against the scripted fake server: replies,
/// mentions, and edit, recall, react and pin as requests of the send sequence; operation entries applied to the local state.</summary>
public sealed class ChatClientOperationTests : IAsyncLifetime
{
    private const string Conv = "s:alice:bob";
    private FakeChatServer _server = null!;
    private readonly List<ChatClient> _clients = [];

    public async Task InitializeAsync() => _server = await FakeChatServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static JsonElement Body(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text })).RootElement;

    private async Task<ChatClient> ConnectAsync(TimeProvider? time = null, TimeSpan? sendTimeout = null)
    {
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.Uri,
            TokenProvider = _ => ValueTask.FromResult("token-alice"),
            Device = "phone",
            SendTimeout = sendTimeout ?? TimeSpan.FromSeconds(30),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            ReconnectJitter = 0,
            AckBatchDelay = TimeSpan.FromMilliseconds(50),
            TimeProvider = time ?? TimeProvider.System,
        });
        _clients.Add(client);
        await client.ConnectAsync().WaitAsync(Wait.Deadline);
        return client;
    }

    private async Task<FakeConnection> ConnectionAsync(int number)
    {
        await Wait.UntilAsync(() => _server.Connections.Count >= number && _server.Connections[number - 1].Hello is not null,
            $"connection {number} says hello");
        return _server.Connections[number - 1];
    }

    /// <summary>An operation entry of s:alice:bob as alice's inbox delivers it.</summary>
    private static MsgFrame Entry(long seq, long cseq, int type, string body, string from = "bob") => new()
    {
        Seq = seq,
        Id = $"72{seq:000000}",
        Conv = Conv,
        Cseq = cseq,
        Ope = Ope.OneToOne,
        From = from,
        To = from == "bob" ? "alice" : "bob",
        Type = type,
        Body = JsonDocument.Parse(body).RootElement,
        Ts = 1_700_000_000_000 + cseq,
    };

    [Fact]
    public async Task Operations_take_their_reqs_from_the_send_sequence_and_are_acknowledged_like_sends()
    {
        var client = await ConnectAsync();
        var target = FakeChatServer.Message(1).Id;

        var sent = await client.SendAsync(Ope.OneToOne, "bob", 1, Body("hi"));
        var edit = await client.EditAsync(Conv, target, Body("hi!"));
        var react = await client.ReactAsync(Conv, target, "👍");
        var pin = await client.PinAsync(Conv, target, on: false);
        var recall = await client.RecallAsync(Conv, target);

        var receipts = new List<SendReceipt>();
        foreach (var request in new OutgoingRequest[] { sent, edit, react, pin, recall }) receipts.Add(await Wait.ForAsync(request.Acked, $"req {request.Req}"));
        Assert.Equal([sent.Req + 1, sent.Req + 2, sent.Req + 3, sent.Req + 4], new[] { edit.Req, react.Req, pin.Req, recall.Req });
        Assert.All(receipts.Skip(1), r => Assert.Equal(Conv, r.Conv));
        Assert.Equal(0, client.PendingSends);

        var editFrame = Assert.Single(_server.Frames<EditFrame>(FrameTypes.Edit));
        Assert.Equal((edit.Req, Conv, target, "hi!"), (editFrame.Req, editFrame.Conv, editFrame.Target, editFrame.Body.GetProperty("text").GetString()));
        var reactFrame = Assert.Single(_server.Frames<ReactFrame>(FrameTypes.React));
        Assert.Equal(("👍", true), (reactFrame.Emoji, reactFrame.On));
        Assert.False(Assert.Single(_server.Frames<PinFrame>(FrameTypes.Pin)).On);
        Assert.Equal(target, Assert.Single(_server.Frames<RecallFrame>(FrameTypes.Recall)).Target);
        // Absent optional fields stay off the wire, as for a send.
        Assert.DoesNotContain("\"ex\"", _server.Received.Single(f => f.Type == FrameTypes.Edit).Json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unacknowledged_operation_is_retransmitted_with_the_same_req_after_the_send_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        _server.OnOperation = (_, attempt) => attempt < 2 ? SendVerdict.Withhold : SendVerdict.Ack;
        var client = await ConnectAsync(time, sendTimeout: TimeSpan.FromSeconds(5));

        var react = await client.ReactAsync(Conv, "900001", "🎉");
        await Wait.UntilAsync(() => _server.SendAttempts(react.Req) == 1, "the first transmission");
        time.Advance(TimeSpan.FromSeconds(5));

        await Wait.ForAsync(react.Acked, "the ack of the retransmission");
        Assert.Equal([react.Req, react.Req], _server.Frames<ReactFrame>(FrameTypes.React).Select(f => f.Req));
    }

    [Fact]
    public async Task Unacknowledged_operations_and_sends_are_retransmitted_in_req_order_after_a_reconnect()
    {
        _server.OnSend = (_, connection, _) => connection.Id == 1 ? SendVerdict.Withhold : SendVerdict.Ack;
        _server.OnOperation = (frame, _) => frame.Connection == 1 ? SendVerdict.Withhold : SendVerdict.Ack;
        var client = await ConnectAsync();
        var first = await ConnectionAsync(1);

        var sent = await client.SendAsync(Ope.OneToOne, "bob", 1, Body("hi"));
        var pin = await client.PinAsync(Conv, "900001");
        var recall = await client.RecallAsync(Conv, "900001");
        await Wait.UntilAsync(() => _server.SendAttempts(recall.Req) == 1, "all three on connection 1");
        first.Abort();

        foreach (var request in new OutgoingRequest[] { sent, pin, recall }) await Wait.ForAsync(request.Acked, $"the ack of req {request.Req}");
        var resent = _server.Received.Where(f => f.Connection == 2 && f.Type is FrameTypes.Send or FrameTypes.Pin or FrameTypes.Recall)
            .Select(f => (f.Type, JsonDocument.Parse(f.Utf8).RootElement.GetProperty("req").GetInt64())).ToList();
        Assert.Equal([(FrameTypes.Send, sent.Req), (FrameTypes.Pin, pin.Req), (FrameTypes.Recall, recall.Req)], resent);
    }

    [Fact]
    public async Task A_refused_operation_fails_with_the_server_code_and_a_retry_keeps_its_req()
    {
        var allowed = false;
        _server.OnOperation = (_, _) => Volatile.Read(ref allowed) ? SendVerdict.Ack : SendVerdict.Error(ErrorCodes.Forbidden);
        var client = await ConnectAsync();

        var edit = await client.EditAsync(Conv, "900001", Body("not yours"));
        var failure = await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(edit.Acked, "the refusal"));
        Assert.Equal((ErrorCodes.Forbidden, OutgoingStatus.Failed), (failure.Code, edit.Status));

        Volatile.Write(ref allowed, true);
        var retry = client.Retry(edit);
        await Wait.ForAsync(retry.Acked, "the retry's ack");
        Assert.Equal((edit.Req, MessageOperation.Edit, "not yours"), (retry.Req, retry.Operation, retry.Body!.Value.GetProperty("text").GetString()));
        Assert.Equal(2, _server.SendAttempts(edit.Req));
    }

    [Fact]
    public async Task An_edit_too_large_for_the_server_fails_locally_and_is_never_transmitted()
    {
        var client = await ConnectAsync();

        var edit = await client.EditAsync(Conv, "900001", Body(new string('x', 17 * 1024)));

        Assert.Equal((OutgoingStatus.Failed, ErrorCodes.TooLarge), (edit.Status, edit.ErrorCode));
        await Wait.ForAsync((await client.PinAsync(Conv, "900001")).Acked, "a later pin's ack");
        Assert.Equal(0, _server.SendAttempts(edit.Req));
    }

    [Fact]
    public async Task A_reply_carries_the_target_and_mentions_and_goes_to_the_other_party()
    {
        var client = await ConnectAsync();

        var reply = await client.ReplyAsync(Conv, "900001", 1, Body("@bob yes"), mentions: ["bob"]);
        var toGroup = await client.ReplyAsync("g:team", "900002", 1, Body("all of you"), mentions: [OperationTypes.MentionAll]);
        await Wait.ForAsync(toGroup.Acked, "the group reply's ack");

        var frames = _server.Frames<SendFrame>(FrameTypes.Send);
        Assert.Equal((Ope.OneToOne, "bob", "900001", "bob"), (frames[0].Ope, frames[0].To, frames[0].Reply, string.Join(",", frames[0].Mentions!)));
        Assert.Equal((Ope.Group, "team", "900002", "@all"), (frames[1].Ope, frames[1].To, frames[1].Reply, string.Join(",", frames[1].Mentions!)));
        Assert.Equal(("900001", "bob"), (reply.Reply, string.Join(",", reply.Mentions!)));
        // A plain send has neither field on the wire.
        await Wait.ForAsync(client.Send(Ope.OneToOne, "bob", 1, Body("plain")).Acked, "the plain send's ack");
        var plain = _server.Received.Last(f => f.Type == FrameTypes.Send).Json;
        Assert.DoesNotContain("reply", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("mentions", plain, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mentions_and_emoji_the_server_would_refuse_are_refused_before_a_req_is_spent()
    {
        var client = await ConnectAsync();

        Assert.Throws<ArgumentException>(() => client.Send(Ope.OneToOne, "bob", 1, Body("x"), mentions: []));
        Assert.Throws<ArgumentException>(() => client.Send(Ope.OneToOne, "bob", 1, Body("x"), mentions: ["bob", "bob"]));
        Assert.Throws<ArgumentException>(() => client.Send(Ope.OneToOne, "bob", 1, Body("x"), mentions: ["@all", "bob"]));
        Assert.Throws<ArgumentException>(() => client.Send(Ope.OneToOne, "bob", 1, Body("x"), reply: "not-an-id"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.ReactAsync(Conv, "900001", ""));
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.ReactAsync(Conv, "900001", new string('x', 65)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.PinAsync("alice", "900001"));

        var next = await client.SendAsync(Ope.OneToOne, "bob", 1, Body("fine"));
        await Wait.ForAsync(next.Acked, "a good send's ack");
        Assert.Single(_server.Frames<SendFrame>(FrameTypes.Send));
    }

    [Fact]
    public async Task Operation_entries_from_the_inbox_update_the_local_state_and_raise_one_event_each()
    {
        var client = await ConnectAsync();
        var events = new ConcurrentQueue<(string Kind, MessageOperationEventArgs Args)>();
        client.MessageEdited += (_, e) => events.Enqueue(("edited", e));
        client.ReactionChanged += (_, e) => events.Enqueue(("reaction", e));
        client.PinChanged += (_, e) => events.Enqueue(("pin", e));
        client.MessageRecalled += (_, e) => events.Enqueue(("recalled", e));
        var connection = await ConnectionAsync(1);
        var original = FakeChatServer.Message(1);
        var target = original.Id;

        await connection.PushAsync(
            original,
            Entry(2, 2, OperationTypes.Edited, $$$"""{"event":"edited","target":"{{{target}}}","body":{"text":"edited"},"ex":{"k":1}}"""),
            Entry(3, 3, OperationTypes.Reaction, $$"""{"event":"reaction","target":"{{target}}","emoji":"👍","on":true}""", from: "alice"),
            Entry(3, 3, OperationTypes.Reaction, $$"""{"event":"reaction","target":"{{target}}","emoji":"👍","on":true}""", from: "alice"),
            Entry(4, 4, OperationTypes.Pinned, $$"""{"event":"pinned","target":"{{target}}","on":true}"""));
        await Wait.UntilAsync(() => events.Count == 3, "an event per entry, the repeated one once");

        Assert.Equal(["edited", "reaction", "pin"], events.Select(e => e.Kind));
        var reaction = events.Single(e => e.Kind == "reaction").Args;
        Assert.Equal((Conv, target, "alice", "👍", true), (reaction.Conv, reaction.Target, reaction.By, reaction.Emoji, reaction.On));
        var shown = client.WithCurrentState(original);
        Assert.Equal(("edited", 1L, 1_700_000_000_002L, true), (shown.Body.GetProperty("text").GetString(), shown.Ex!.Value.GetProperty("k").GetInt64(), shown.Edited, shown.Pinned == true));
        Assert.Equal(["alice"], shown.Reactions!["👍"]);

        await connection.PushAsync(Entry(5, 5, OperationTypes.Recalled, $$"""{"event":"recalled","target":"{{target}}","by":"bob"}"""));
        await Wait.UntilAsync(() => events.Count == 4, "the recall's event");
        var recalled = events.Last().Args;
        Assert.Equal(("recalled", "bob"), (events.Last().Kind, recalled.By));
        Assert.True(recalled.State.Recalled);
        var erased = client.WithCurrentState(original);
        Assert.Equal(("{}", (JsonElement?)null, (long?)null), (erased.Body.GetRawText(), erased.Ex, erased.Edited));
        Assert.Equal(["alice"], erased.Reactions!["👍"]);
        // Entries are timeline entries too: the app sees them on Messages after the original.
        var surfaced = new List<int>();
        for (var i = 0; i < 5; i++) surfaced.Add((await Wait.ReadAsync(client.Messages, $"entry {i + 1}")).Type);
        Assert.Equal([1, OperationTypes.Edited, OperationTypes.Reaction, OperationTypes.Pinned, OperationTypes.Recalled], surfaced);
    }

    [Fact]
    public async Task Group_operation_entries_from_a_gsync_page_apply_in_cseq_order_after_a_gap()
    {
        var client = await ConnectAsync();
        var edits = new ConcurrentQueue<MessageOperationEventArgs>();
        client.MessageEdited += (_, e) => edits.Enqueue(e);
        var connection = await ConnectionAsync(1);
        var original = FakeChatServer.GroupMessage("big", 1);
        MsgFrame GroupEdit(long cseq, string text)
        {
            var entry = FakeChatServer.GroupMessage("big", cseq) with
            {
                Id = $"73{cseq:000000}",
                Type = OperationTypes.Edited,
                Body = JsonDocument.Parse($$$"""{"event":"edited","target":"{{{original.Id}}}","body":{"text":"{{{text}}}"}}""").RootElement,
            };
            return _server.AddToGroup(entry);
        }
        _server.AddToGroup("big", 1);
        var second = GroupEdit(2, "second");
        var third = GroupEdit(3, "third");

        // A large group's live push of cseq 3 before cseq 2: the client holds it and asks gsync for the gap.
        await connection.PushAsync(original, third);
        await Wait.UntilAsync(() => _server.Frames<GsyncFrame>(FrameTypes.Gsync).Count > 0, "a gsync for the gap");
        await connection.PushAsync(second);

        await Wait.UntilAsync(() => edits.Count == 2, "both edits applied");
        Assert.Equal([2L, 3L], edits.Select(e => e.Entry.Cseq));
        Assert.Equal("third", client.GetMessageState(original.Conv, original.Id)!.Body!.Value.GetProperty("text").GetString());
    }
}
