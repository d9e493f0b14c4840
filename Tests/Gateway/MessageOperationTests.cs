using System.Net;
using System.Text.Json;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Push;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// docs/protocol.md §13 over real sockets: reply and mentions, edit, recall, reactions and pins — who may, windows,
/// targets, retransmission, offline convergence in cseq order, the views, no push, and recalled content gone from the
/// store; the rules by group role and large groups' read diffusion are in MessageOperationTests.Groups.cs. Runs against both compositions, <see cref="EmbeddedMessageOperationTests"/> and <see cref="DistributedMessageOperationTests"/>
/// on the embedded RocksDB store, and the distributed one on PostgreSQL (<see cref="PostgresMessageOperationTests"/>).
/// </summary>
public abstract partial class MessageOperationTests
{
    protected abstract IDictionary<string, string?> Composition { get; }

    private Task<GatewayServer> StartServerAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(Composition);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return GatewayServer.StartAsync(all);
    }

    private static async Task<JsonElement> GetAsync(GatewayServer server, string user, string url, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, url);
        Assert.Equal(expected, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> HistoryAsync(GatewayServer server, string user, string conv) =>
        (await GetAsync(server, user, $"/api/conversations/{conv}/messages")).GetProperty("items");

    // The history once the entry id is stored: an ack means durable, and the distributed composition
    // acknowledges before stage 1 stores (and applies) what it acknowledged.
    private static Task<JsonElement> WaitForHistoryAsync(GatewayServer server, string user, string conv, string id) =>
        Wait.ForValueAsync<JsonElement>(async () =>
        {
            var items = await HistoryAsync(server, user, conv);
            return items.EnumerateArray().Any(m => m.GetProperty("id").GetString() == id) ? items : null;
        }, $"{id} is in {conv}'s history");

    private static async Task<JsonElement> MessageAsync(GatewayServer server, string user, string conv, string id) =>
        await GetAsync(server, user, $"/api/conversations/{conv}/messages/{id}");

    // Sends text and returns its ack.
    private static async Task<JsonElement> SayAsync(TestSocket socket, long req, string to, string text, int ope = 0, string? reply = null, string[]? mentions = null)
    {
        await socket.SendAsync(new Dictionary<string, object?>
        {
            ["t"] = "send", ["req"] = req, ["ope"] = ope, ["to"] = to, ["type"] = 1, ["body"] = new { text },
            ["reply"] = reply, ["mentions"] = mentions,
        }.Where(p => p.Value is not null).ToDictionary());
        return await AnswerAsync(socket, req);
    }

    // The ack or error that answers req.
    private static async Task<JsonElement> AnswerAsync(TestSocket socket, long req)
    {
        while (true)
        {
            var frame = await socket.ReceiveAsync();
            var t = frame.GetProperty("t").GetString();
            if (t is "ack" or "error" && frame.TryGetProperty("req", out var r) && r.GetInt64() == req) return frame;
        }
    }

    private static async Task<JsonElement> OperateAsync(TestSocket socket, object frame)
    {
        await socket.SendAsync(frame);
        var req = JsonSerializer.SerializeToElement(frame).GetProperty("req").GetInt64();
        return await AnswerAsync(socket, req);
    }

    private static string Code(JsonElement answer) =>
        answer.GetProperty("t").GetString() == "error" ? answer.GetProperty("code").GetString()! : "ack";

    private static string Id(JsonElement ack) => ack.GetProperty("id").GetString()!;

    // The next msg of conv with the given type (others skipped).
    private static async Task<JsonElement> ExpectEntryAsync(TestSocket socket, int type)
    {
        while (true)
        {
            var msg = await socket.ExpectAsync("msg");
            if (msg.GetProperty("type").GetInt32() == type) return msg;
        }
    }

    private static JsonElement ById(JsonElement items, string id) => items.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);

    [Fact]
    public async Task Reply_and_mentions_travel_on_the_msg_and_stay_in_history()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var first = Id(await SayAsync(alice, 1, "bob", "lunch?"));
        await bob.ExpectAsync("msg");

        var answer = await SayAsync(bob, 1, "alice", "yes", reply: first, mentions: ["alice"]);
        Assert.Equal("ack", Code(answer));
        var msg = await alice.ExpectAsync("msg");
        while (msg.GetProperty("id").GetString() != Id(answer)) msg = await alice.ExpectAsync("msg");
        Assert.Equal(first, msg.GetProperty("reply").GetString());
        Assert.Equal(["alice"], msg.GetProperty("mentions").EnumerateArray().Select(m => m.GetString()));

        var stored = ById(await HistoryAsync(server, "alice", "s:alice:bob"), Id(answer));
        Assert.Equal(first, stored.GetProperty("reply").GetString());
        Assert.False(ById(await HistoryAsync(server, "alice", "s:alice:bob"), first).TryGetProperty("reply", out _));
    }

    [Fact]
    public async Task A_reply_or_mention_that_names_nothing_the_sender_may_reach_is_refused()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        var elsewhere = Id(await SayAsync(alice, 1, "carol", "private to carol"));
        Assert.Equal("ack", Code(await SayAsync(alice, 2, "bob", "hi bob")));

        Assert.Equal("not_found", Code(await SayAsync(alice, 3, "bob", "re", reply: elsewhere)));
        Assert.Equal("not_found", Code(await SayAsync(alice, 4, "bob", "re", reply: "123456789")));
        Assert.Equal("bad_frame", Code(await SayAsync(alice, 5, "bob", "re", reply: "not-an-id")));
        Assert.Equal("not_found", Code(await SayAsync(alice, 6, "bob", "hey", mentions: ["carol"])));
        Assert.Equal("bad_frame", Code(await SayAsync(alice, 7, "bob", "hey", mentions: ["bob", "bob"])));
        Assert.Equal("bad_frame", Code(await SayAsync(alice, 8, "bob", "hey", mentions: ["bob", "@all"])));
        Assert.Equal("bad_frame", Code(await SayAsync(alice, 9, "bob", "hey", mentions: [.. Enumerable.Range(0, 51).Select(i => $"u{i}")])));
        // In a one-to-one conversation @all is the other party.
        Assert.Equal("ack", Code(await SayAsync(alice, 10, "bob", "hey", mentions: ["@all"])));
    }

    [Fact]
    public async Task In_a_group_only_owner_and_admins_may_mention_all_and_mentions_must_be_members()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        Assert.Equal("forbidden", Code(await SayAsync(bob, 1, gid, "everyone!", ope: 1, mentions: ["@all"])));
        Assert.Equal("not_found", Code(await SayAsync(bob, 2, gid, "dave?", ope: 1, mentions: ["dave"])));
        Assert.Equal("ack", Code(await SayAsync(bob, 3, gid, "carol!", ope: 1, mentions: ["carol"])));
        Assert.Equal("ack", Code(await SayAsync(alice, 1, gid, "everyone!", ope: 1, mentions: ["@all"])));
    }

    [Fact]
    public async Task The_sender_edits_within_the_window_and_every_view_shows_the_latest_version_with_its_history()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var conv = "s:alice:bob";
        var target = Id(await SayAsync(alice, 1, "bob", "helo"));

        var edit = await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = "hello" }, ex = new { fixedTypo = true } });
        Assert.Equal("ack", Code(edit));
        var entry = await ExpectEntryAsync(bob, -10);
        Assert.Equal(Id(edit), entry.GetProperty("id").GetString());
        Assert.Equal(("edited", target, "hello"), (entry.GetProperty("body").GetProperty("event").GetString(),
            entry.GetProperty("body").GetProperty("target").GetString(), entry.GetProperty("body").GetProperty("body").GetProperty("text").GetString()));
        Assert.Equal("alice", entry.GetProperty("from").GetString());

        Assert.Equal("forbidden", Code(await OperateAsync(bob, new { t = "edit", req = 1, conv, target, body = new { text = "not yours" } })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "edit", req = 3, conv, target, body = new { text = "hello!" } })));
        await ExpectEntryAsync(bob, -10);

        var history = await HistoryAsync(server, "bob", conv);
        Assert.Equal([1L, 2L, 3L], history.EnumerateArray().Select(m => m.GetProperty("cseq").GetInt64()));
        var shown = ById(history, target);
        Assert.Equal("hello!", shown.GetProperty("body").GetProperty("text").GetString());
        Assert.True(shown.GetProperty("edited").GetInt64() > 0);
        Assert.False(shown.TryGetProperty("ex", out _));
        var one = await MessageAsync(server, "bob", conv, target);
        Assert.Equal(["helo", "hello", "hello!"], one.GetProperty("edits").EnumerateArray().Select(v => v.GetProperty("body").GetProperty("text").GetString()));
        Assert.True(one.GetProperty("edits")[1].GetProperty("ex").GetProperty("fixedTypo").GetBoolean());
        // Unread counts messages, not operations; the list's last is the message, in its current state.
        var item = (await server.WaitForListedAsync("bob", conv, 1)).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);
        Assert.Equal(1, item.GetProperty("unread").GetInt64());
        Assert.Equal((target, "hello!"), (item.GetProperty("last").GetProperty("id").GetString(), item.GetProperty("last").GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task An_edit_past_the_window_is_forbidden()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Messages:EditWindow"] = "00:00:00", ["Messages:RecallWindow"] = "00:00:00" });
        await using var alice = await server.ConnectAsync("alice");
        var ack = await SayAsync(alice, 1, "bob", "old news");
        var ts = ack.GetProperty("ts").GetInt64();
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > ts, "the clock passes the message's ts");

        Assert.Equal("forbidden", Code(await OperateAsync(alice, new { t = "edit", req = 2, conv = "s:alice:bob", target = Id(ack), body = new { text = "new" } })));
        Assert.Equal("forbidden", Code(await OperateAsync(alice, new { t = "recall", req = 3, conv = "s:alice:bob", target = Id(ack) })));
    }

    [Fact]
    public async Task Targets_must_be_messages_of_the_conversation_the_caller_may_read()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        await using var alice = await server.ConnectAsync("alice");
        await using var mallory = await server.ConnectAsync("mallory");
        var inGroup = Id(await SayAsync(alice, 1, gid, "group message", ope: 1));
        var oneToOne = Id(await SayAsync(alice, 2, "bob", "private"));
        var reaction = Id(await OperateAsync(alice, new { t = "react", req = 3, conv = "s:alice:bob", target = oneToOne, emoji = "👍", on = true }));
        var created = (await HistoryAsync(server, "alice", $"g:{gid}"))[0].GetProperty("id").GetString();

        Assert.Equal("not_found", Code(await OperateAsync(alice, new { t = "pin", req = 4, conv = "s:alice:bob", target = inGroup, on = true })));
        Assert.Equal("not_found", Code(await OperateAsync(alice, new { t = "pin", req = 5, conv = "s:alice:bob", target = reaction, on = true })));
        Assert.Equal("not_found", Code(await OperateAsync(alice, new { t = "pin", req = 6, conv = $"g:{gid}", target = created, on = true })));
        Assert.Equal("forbidden", Code(await OperateAsync(mallory, new { t = "react", req = 1, conv = $"g:{gid}", target = inGroup, emoji = "x", on = true })));
        Assert.Equal("forbidden", Code(await OperateAsync(mallory, new { t = "react", req = 2, conv = "s:alice:bob", target = oneToOne, emoji = "x", on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "react", req = 7, conv = "nonsense", target = oneToOne, emoji = "x", on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "react", req = 8, conv = "s:alice:bob", target = "abc", emoji = "x", on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "react", req = 9, conv = "s:alice:bob", target = oneToOne, emoji = "", on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "react", req = 10, conv = "s:alice:bob", target = oneToOne, emoji = "a\u0007", on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "react", req = 11, conv = "s:alice:bob", target = oneToOne, emoji = new string('x', 65), on = true })));
        Assert.Equal("bad_frame", Code(await OperateAsync(alice, new { t = "pin", req = 12, conv = "s:alice:bob", target = oneToOne })));
    }

    [Fact]
    public async Task A_retransmitted_operation_answers_the_original_ack_and_writes_one_entry()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        var target = Id(await SayAsync(alice, 1, "bob", "hi"));
        var react = new { t = "react", req = 2, conv = "s:alice:bob", target, emoji = "🎉", on = true };

        var first = await OperateAsync(alice, react);
        var again = await OperateAsync(alice, react);
        var later = Id(await SayAsync(alice, 3, "bob", "later"));

        Assert.Equal(Id(first), Id(again));
        // A second entry would be sequenced before the later message: once that is stored, the timeline is complete.
        var history = await WaitForHistoryAsync(server, "alice", "s:alice:bob", later);
        Assert.Equal([target, Id(first), later], history.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["alice"], ById(history, target).GetProperty("reactions").GetProperty("🎉").EnumerateArray().Select(u => u.GetString()));
    }

    [Fact]
    public async Task Reactions_toggle_per_user_in_the_order_given_and_stop_at_twenty_emoji_per_user()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var conv = "s:alice:bob";
        var target = Id(await SayAsync(alice, 1, "bob", "vote"));

        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 1, conv, target, emoji = "👍", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "react", req = 2, conv, target, emoji = "👍", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "react", req = 3, conv, target, emoji = "👍", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 2, conv, target, emoji = "❤️", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 3, conv, target, emoji = "❤️", on = false })));
        var last = Id(await OperateAsync(bob, new { t = "react", req = 4, conv, target, emoji = "🙈", on = false }));

        // The distributed composition acknowledges before stage 1 applies: the view is read once the last one is stored.
        var shown = ById(await WaitForHistoryAsync(server, "alice", conv, last), target);
        var reactions = shown.GetProperty("reactions");
        Assert.Equal(["👍"], reactions.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["bob", "alice"], reactions.GetProperty("👍").EnumerateArray().Select(u => u.GetString()));

        for (var i = 0; i < 19; i++)
            Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 10 + i, conv, target, emoji = $"e{i}", on = true })));
        // The rule is checked at acceptance against the message's stored state, which the distributed composition's
        // stage 1 applies after the acks: once bob's twenty show, a twenty-first is refused.
        await Wait.UntilAsync(async () => ById(await HistoryAsync(server, "alice", conv), target).GetProperty("reactions").EnumerateObject()
            .Count(p => p.Value.EnumerateArray().Any(u => u.GetString() == "bob")) == AspireChat.Protocol.OperationTypes.MaxReactionsPerUser, "bob's twenty emoji applied");
        Assert.Equal("forbidden", Code(await OperateAsync(bob, new { t = "react", req = 40, conv, target, emoji = "one-too-many", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 41, conv, target, emoji = "👍", on = true })));
    }

    [Fact]
    public async Task Pins_in_a_group_are_for_owner_and_admins_and_list_most_recent_first()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var first = Id(await SayAsync(bob, 1, gid, "rules", ope: 1));
        var second = Id(await SayAsync(bob, 2, gid, "schedule", ope: 1));

        Assert.Equal("forbidden", Code(await OperateAsync(bob, new { t = "pin", req = 3, conv, target = first, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 1, conv, target = first, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 2, conv, target = second, on = true })));
        var pinned = await ExpectEntryAsync(bob, -13);
        Assert.Equal(("pinned", true), (pinned.GetProperty("body").GetProperty("event").GetString(), pinned.GetProperty("body").GetProperty("on").GetBoolean()));
        // An entry reaches bob once stage 1 stored it with the state it made: the second one, and the view holds both.
        await ExpectEntryAsync(bob, -13);

        var pins = (await GetAsync(server, "bob", $"/api/conversations/{conv}/pins")).GetProperty("items");
        Assert.Equal([second, first], pins.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.True(pins[0].GetProperty("pinned").GetBoolean());

        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 3, conv, target = second, on = false })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 4, conv, target = second, on = false })));
        await ExpectEntryAsync(bob, -13);
        await ExpectEntryAsync(bob, -13);
        pins = (await GetAsync(server, "bob", $"/api/conversations/{conv}/pins")).GetProperty("items");
        Assert.Equal([first], pins.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.False(ById(await HistoryAsync(server, "bob", conv), second).TryGetProperty("pinned", out _));
        await GetAsync(server, "mallory", $"/api/conversations/{conv}/pins", HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_recall_erases_the_message_and_its_edits_from_the_store_and_nothing_edits_it_after()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var conv = "s:alice:bob";
        var target = Id(await SayAsync(alice, 1, "bob", "my password is hunter2"));
        var edit = Id(await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = "my password is hunter3" } }));
        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "react", req = 1, conv, target, emoji = "😱", on = true })));

        Assert.Equal("forbidden", Code(await OperateAsync(bob, new { t = "recall", req = 2, conv, target })));
        var recall = await OperateAsync(alice, new { t = "recall", req = 3, conv, target });
        Assert.Equal("ack", Code(recall));
        var entry = await ExpectEntryAsync(bob, -11);
        Assert.Equal(("recalled", target, "alice"), (entry.GetProperty("body").GetProperty("event").GetString(),
            entry.GetProperty("body").GetProperty("target").GetString(), entry.GetProperty("body").GetProperty("by").GetString()));
        Assert.Equal("forbidden", Code(await OperateAsync(alice, new { t = "edit", req = 4, conv, target, body = new { text = "again" } })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 5, conv, target })));

        // Read the store itself: no version of the content is left in the timeline.
        var timeline = server.Services.GetRequiredService<ITimelineStore>();
        var stored = await timeline.ReadConversationAsync(conv, null, null, 100);
        Assert.DoesNotContain(stored, m => m.Body.GetRawText().Contains("hunter", StringComparison.Ordinal));
        Assert.Equal("{}", stored.Single(m => m.Id.ToString() == target).Body.GetRawText());
        Assert.Equal("edited", stored.Single(m => m.Id.ToString() == edit).Body.GetProperty("event").GetString());
        // Nor in the message's stored state, which held the edits' versions.
        var state = (await server.Services.GetRequiredService<IMessageStateStore>().GetStatesAsync(conv, [long.Parse(target)]))[long.Parse(target)];
        Assert.True(state.Recalled);
        Assert.Empty(state.Edits);

        var shown = ById(await HistoryAsync(server, "bob", conv), target);
        Assert.True(shown.GetProperty("recalled").GetBoolean());
        Assert.Equal("{}", shown.GetProperty("body").GetRawText());
        Assert.False(shown.TryGetProperty("edited", out _));
        Assert.Equal(["bob"], shown.GetProperty("reactions").GetProperty("😱").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(0, (await MessageAsync(server, "alice", conv, target)).GetProperty("edits").GetArrayLength());
        await GetAsync(server, "alice", $"/api/conversations/{conv}/messages/{edit}", HttpStatusCode.NotFound);
        await GetAsync(server, "mallory", $"/api/conversations/{conv}/messages/{target}", HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_group_admin_may_recall_any_message_and_a_member_only_its_own()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        var fromBob = Id(await SayAsync(bob, 1, gid, "spam", ope: 1));

        Assert.Equal("forbidden", Code(await OperateAsync(carol, new { t = "recall", req = 1, conv, target = fromBob })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 1, conv, target = fromBob })));
        var entry = await ExpectEntryAsync(carol, -11);
        Assert.Equal("alice", entry.GetProperty("body").GetProperty("by").GetString());
    }

    [Fact]
    public async Task A_device_offline_during_operations_gets_every_entry_in_cseq_order_when_it_returns()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        await using var alice = await server.ConnectAsync("alice");
        long cursor;
        string target;
        await using (var laptop = await server.ConnectAsync("bob", "laptop"))
        {
            target = Id(await SayAsync(alice, 1, "bob", "draft"));
            var first = await laptop.ExpectAsync("msg");
            cursor = first.GetProperty("seq").GetInt64();
            await laptop.SendAsync(new { t = "ack", seq = cursor });
            await laptop.AssertNoneBeforePongAsync();
        }
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = "final" } })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "react", req = 3, conv, target, emoji = "✅", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 4, conv, target, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 5, conv, target })));
        await Wait.UntilAsync(async () => ById(await HistoryAsync(server, "alice", conv), target).TryGetProperty("recalled", out _), "the recall is applied");

        await using var back = await server.ConnectAsync("bob", "laptop", cursor);
        var entries = await back.ExpectManyAsync("msg", 4);
        Assert.Equal([2L, 3L, 4L, 5L], entries.Select(e => e.GetProperty("cseq").GetInt64()));
        Assert.Equal([-10, -12, -13, -11], entries.Select(e => e.GetProperty("type").GetInt32()));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => cursor + 1 + i), entries.Select(e => e.GetProperty("seq").GetInt64()));
        // Erased by the recall before the device came back: it never sees the edited content.
        Assert.False(entries[0].GetProperty("body").TryGetProperty("body", out _));
    }

    [Fact]
    public async Task The_list_counts_unread_mentions_by_id_and_by_all()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        Assert.Equal("ack", Code(await SayAsync(alice, 1, gid, "hi all", ope: 1)));
        Assert.Equal("ack", Code(await SayAsync(alice, 2, gid, "bob, look", ope: 1, mentions: ["bob"])));
        var all = await SayAsync(alice, 3, gid, "everyone look", ope: 1, mentions: ["@all"]);
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "react", req = 4, conv, target = Id(all), emoji = "👀", on = true })));

        var list = await server.WaitForListedAsync("bob", conv, 4);
        var item = list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);
        Assert.Equal((3L, 2L), (item.GetProperty("unread").GetInt64(), item.GetProperty("mentions").GetInt64()));
        Assert.Equal(Id(all), item.GetProperty("last").GetProperty("id").GetString());
        var carolItem = (await server.WaitForListedAsync("carol", conv, 4)).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);
        Assert.Equal(1L, carolItem.GetProperty("mentions").GetInt64());
        Assert.Equal(0L, (await server.WaitForListedAsync("alice", conv, 4)).GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("conv").GetString() == conv).GetProperty("mentions").GetInt64());
    }

    // The user's item of conv in the conversation list, as it is now.
    private static async Task<JsonElement> ListItemAsync(GatewayServer server, string user, string conv) =>
        (await GetAsync(server, user, "/api/conversations")).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);

    [Fact]
    public async Task The_lists_mention_count_goes_down_as_read_covers_the_mentions()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        Assert.Equal("ack", Code(await SayAsync(alice, 1, gid, "bob?", ope: 1, mentions: ["bob"])));
        Assert.Equal("ack", Code(await SayAsync(alice, 2, gid, "bob!", ope: 1, mentions: ["bob"])));
        var first = (await ExpectEntryAsync(bob, 1)).GetProperty("cseq").GetInt64();
        var second = (await ExpectEntryAsync(bob, 1)).GetProperty("cseq").GetInt64();
        var item = (await server.WaitForListedAsync("bob", conv, second)).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);
        Assert.Equal((2L, 2L), (item.GetProperty("unread").GetInt64(), item.GetProperty("mentions").GetInt64()));

        // A read has no answer: the pong after it says it was taken.
        await bob.SendAsync(new { t = "read", conv, cseq = first });
        await bob.AssertNoneBeforePongAsync("error");
        item = await ListItemAsync(server, "bob", conv);
        Assert.Equal((1L, 1L), (item.GetProperty("unread").GetInt64(), item.GetProperty("mentions").GetInt64()));

        await bob.SendAsync(new { t = "read", conv, cseq = second });
        await bob.AssertNoneBeforePongAsync("error");
        item = await ListItemAsync(server, "bob", conv);
        Assert.Equal((0L, 0L), (item.GetProperty("unread").GetInt64(), item.GetProperty("mentions").GetInt64()));
    }

    [Fact]
    public async Task The_lists_last_shows_a_recalled_message_recalled_and_without_its_content()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendAsync(new { t = "send", req = 1, ope = 0, to = "bob", type = 1, body = new { text = "wrong chat, sorry" }, ex = new { draft = "also gone" } });
        var target = Id(await AnswerAsync(alice, 1));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 2, conv, target })));
        // bob gets the recall once stage 1 stored it with the state it made.
        await ExpectEntryAsync(bob, -11);

        foreach (var user in new[] { "alice", "bob" })
        {
            var last = (await server.WaitForListedAsync(user, conv, 1)).GetProperty("items").EnumerateArray()
                .Single(i => i.GetProperty("conv").GetString() == conv).GetProperty("last");
            Assert.Equal((target, true, "{}"), (last.GetProperty("id").GetString(), last.GetProperty("recalled").GetBoolean(), last.GetProperty("body").GetRawText()));
            Assert.False(last.TryGetProperty("ex", out _));
        }
    }

    [Fact]
    public async Task An_edit_retransmitted_on_a_new_connection_answers_the_original_ack_and_writes_one_entry()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        string target;
        JsonElement first;
        await using (var before = await server.ConnectAsync("alice", "phone"))
        {
            target = Id(await SayAsync(before, 1, "bob", "teh plan"));
            first = await OperateAsync(before, new { t = "edit", req = 2, conv, target, body = new { text = "the plan" } });
        }

        // The same device on a new connection, not knowing whether its edit arrived, sends it again.
        await using var after = await server.ConnectAsync("alice", "phone");
        var again = await OperateAsync(after, new { t = "edit", req = 2, conv, target, body = new { text = "the plan" } });
        var later = Id(await SayAsync(after, 3, "bob", "see you there"));

        Assert.Equal(("ack", Id(first), first.GetProperty("ts").GetInt64()), (Code(again), Id(again), again.GetProperty("ts").GetInt64()));
        var history = await WaitForHistoryAsync(server, "alice", conv, later);
        Assert.Equal([target, Id(first), later], history.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["teh plan", "the plan"], (await MessageAsync(server, "alice", conv, target)).GetProperty("edits").EnumerateArray()
            .Select(v => v.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task An_edit_retransmitted_after_the_message_was_recalled_answers_its_original_ack_and_brings_nothing_back()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        string target;
        JsonElement first;
        await using (var phone = await server.ConnectAsync("alice", "phone"))
        {
            target = Id(await SayAsync(phone, 1, "bob", "teh plan"));
            first = await OperateAsync(phone, new { t = "edit", req = 2, conv, target, body = new { text = "the plan" } });
            Assert.Equal("ack", Code(first));
        }
        await using (var laptop = await server.ConnectAsync("alice", "laptop"))
        {
            Assert.Equal("ack", Code(await OperateAsync(laptop, new { t = "recall", req = 1, conv, target })));
        }
        await Wait.UntilAsync(async () => ById(await HistoryAsync(server, "alice", conv), target).TryGetProperty("recalled", out _), "the recall is applied");

        // The phone never saw its edit's ack and sends the edit again: the rules now refuse an edit of a recalled
        // message, but this one was taken before the recall, so it is answered as the first time.
        await using var again = await server.ConnectAsync("alice", "phone");
        var answer = await OperateAsync(again, new { t = "edit", req = 2, conv, target, body = new { text = "the plan" } });
        Assert.Equal(("ack", Id(first), first.GetProperty("ts").GetInt64()), (Code(answer), Id(answer), answer.GetProperty("ts").GetInt64()));
        // A new edit of the recalled message is still refused.
        Assert.Equal("forbidden", Code(await OperateAsync(again, new { t = "edit", req = 3, conv, target, body = new { text = "the plan again" } })));

        var later = Id(await SayAsync(again, 4, "bob", "see you there"));
        var history = await WaitForHistoryAsync(server, "alice", conv, later);
        Assert.Equal(4, history.GetArrayLength());
        var shown = await MessageAsync(server, "alice", conv, target);
        Assert.True(shown.GetProperty("recalled").GetBoolean());
        Assert.DoesNotContain("plan", shown.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edit_whose_body_and_ex_are_over_the_limit_is_too_large_and_the_connection_stays()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        await using var alice = await server.ConnectAsync("alice");
        var target = Id(await SayAsync(alice, 1, "bob", "short"));

        // Limits:MaxBodyBytes (16,384) counts the JSON text of body and ex together, as for a send.
        Assert.Equal("too_large", Code(await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = new string('x', 16_384) } })));
        Assert.Equal("too_large", Code(await OperateAsync(alice, new { t = "edit", req = 3, conv, target, body = new { text = "fine" }, ex = new { note = new string('y', 16_370) } })));
        var fits = await OperateAsync(alice, new { t = "edit", req = 4, conv, target, body = new { text = "fits" } });

        Assert.Equal("ack", Code(fits));
        await WaitForHistoryAsync(server, "alice", conv, Id(fits));
        Assert.Equal(["short", "fits"], (await MessageAsync(server, "alice", conv, target)).GetProperty("edits").EnumerateArray()
            .Select(v => v.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Operations_send_no_push_notification()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (204, null));
        await using var server = await WebhookTests.StartServerAsync(business, new Dictionary<string, string?>(Composition));
        await WebhookTests.SubscribeAsync(server, "bob", "phone");
        var conv = "s:alice:bob";
        await using var alice = await server.ConnectAsync("alice");
        var target = Id(await SayAsync(alice, 1, "bob", "are you there?"));
        using (var first = JsonDocument.Parse((await business.NextAsync()).Body))
            Assert.Equal((target, 1), (first.RootElement.GetProperty("id").GetString(), first.RootElement.GetProperty("count").GetInt32()));

        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = "are you there, bob?" } })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "react", req = 3, conv, target, emoji = "🔔", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 4, conv, target, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 5, conv, target })));
        var next = Id(await SayAsync(alice, 6, "bob", "call me"));

        // bob is offline throughout, and the four entries are in his inbox before the message: had they asked for a
        // push, the next notification would be one of theirs, or would count them with the message.
        using var notification = JsonDocument.Parse((await business.NextAsync()).Body);
        Assert.Equal((next, 1), (notification.RootElement.GetProperty("id").GetString(), notification.RootElement.GetProperty("count").GetInt32()));
    }
}

public sealed class EmbeddedMessageOperationTests : MessageOperationTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();
}

public sealed class DistributedMessageOperationTests : MessageOperationTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };
}

/// <summary>
/// The distributed composition on the PostgreSQL store: every rule again, and the recall's erasure read from PostgreSQL
/// itself. Each test gets a database of its own on the run's server, as each of the others gets a data folder of its own.
/// </summary>
public sealed class PostgresMessageOperationTests : MessageOperationTests, IAsyncLifetime
{
    private string _database = "";

    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>
    {
        ["Pipeline:Composition"] = "Distributed",
        ["ConnectionStrings:postgres"] = _database,
    };

    public async Task InitializeAsync() => _database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("operations");

    public Task DisposeAsync() => Task.CompletedTask;
}
