using System.Net;
using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// docs/protocol.md §12.8 over real sockets: the conversation list, read positions shared by a user's devices, receipts and typing.
/// Runs against both compositions of the stages: <see cref="EmbeddedConversationTests"/> and <see cref="DistributedConversationTests"/>.
/// </summary>
public abstract class ConversationTests
{
    /// <summary>The settings that choose the composition.</summary>
    protected abstract IDictionary<string, string?> Composition { get; }

    private Task<GatewayServer> StartServerAsync(IDictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        var all = new Dictionary<string, string?>(Composition);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return GatewayServer.StartAsync(all, dataDirectory);
    }

    private static async Task<JsonElement> GetAsync(GatewayServer server, string user, string url, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, url);
        Assert.Equal(expected, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static Task<JsonElement> ListAsync(GatewayServer server, string user, string query = "") => GetAsync(server, user, "/api/conversations" + query);

    private static JsonElement Item(JsonElement list, string conv) =>
        list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("conv").GetString() == conv);

    private static async Task<JsonElement> ErrorAsync(TestSocket socket, object frame)
    {
        await socket.SendAsync(frame);
        return await socket.ExpectAsync("error");
    }

    [Fact]
    public async Task The_list_shows_each_conversation_with_its_last_message_and_unread_count_most_recent_first()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var carol = await server.ConnectAsync("carol");
        await alice.SendChatAsync(1, "bob", "one");
        await alice.SendChatAsync(2, "bob", "two");
        await alice.ExpectManyAsync("ack", 2);
        await server.WaitForListedAsync("bob", "s:alice:bob", 2);
        await carol.SendChatAsync(1, "bob", "from carol");
        await carol.ExpectAsync("ack");

        var list = await server.WaitForListedAsync("bob", "s:bob:carol", 1);
        var items = list.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["s:bob:carol", "s:alice:bob"], items.Select(i => i.GetProperty("conv").GetString()));
        Assert.Equal(("carol", 1L, 0L, 0), (items[0].GetProperty("with").GetString(), items[0].GetProperty("unread").GetInt64(), items[0].GetProperty("read").GetInt64(), items[0].GetProperty("ope").GetInt32()));
        Assert.Equal(("alice", 2L), (items[1].GetProperty("with").GetString(), items[1].GetProperty("unread").GetInt64()));
        Assert.Equal("two", items[1].GetProperty("last").GetProperty("body").GetProperty("text").GetString());
        Assert.False(items[1].GetProperty("last").TryGetProperty("seq", out _));
        Assert.Equal(items[1].GetProperty("last").GetProperty("ts").GetInt64(), items[1].GetProperty("ts").GetInt64());
        Assert.False(list.TryGetProperty("next", out _));
        // The sender's own messages are not unread for it.
        Assert.Equal(0, Item(await ListAsync(server, "alice"), "s:alice:bob").GetProperty("unread").GetInt64());
    }

    [Fact]
    public async Task Unread_excludes_ones_own_messages_and_membership_events()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        var conv = $"g:{gid}";
        var listed = Item(await server.WaitForListedAsync("bob", conv, 1), conv);
        Assert.Equal((gid, "test group", 0L), (listed.GetProperty("gid").GetString(), listed.GetProperty("name").GetString(), listed.GetProperty("unread").GetInt64()));
        Assert.Equal(-1, listed.GetProperty("last").GetProperty("type").GetInt32());

        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, gid, "from alice", ope: 1);
        await alice.ExpectAsync("ack");
        await bob.SendChatAsync(1, gid, "from bob", ope: 1);
        await bob.ExpectAsync("ack");

        Assert.Equal(1, Item(await server.WaitForListedAsync("bob", conv, 3), conv).GetProperty("unread").GetInt64());
        Assert.Equal(1, Item(await server.WaitForListedAsync("alice", conv, 3), conv).GetProperty("unread").GetInt64());
    }

    [Fact]
    public async Task Reading_on_one_device_tells_the_users_other_devices_and_clears_the_unread_count()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var phone = await server.ConnectAsync("bob", "phone");
        await using var laptop = await server.ConnectAsync("bob", "laptop");
        for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 3);
        Assert.Equal(3, Item(await server.WaitForListedAsync("bob", "s:alice:bob", 3), "s:alice:bob").GetProperty("unread").GetInt64());

        await phone.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 3 });

        var read = await laptop.ExpectAsync("read");
        Assert.Equal(("s:alice:bob", 3L), (read.GetProperty("conv").GetString(), read.GetProperty("cseq").GetInt64()));
        var item = Item(await ListAsync(server, "bob"), "s:alice:bob");
        Assert.Equal((0L, 3L), (item.GetProperty("unread").GetInt64(), item.GetProperty("read").GetInt64()));
        // The reading device is not told: its read was relayed while the frame was handled, before the pong's answer.
        await phone.AssertNoneBeforePongAsync("read");
    }

    [Fact]
    public async Task A_read_position_never_moves_back_and_a_cseq_past_the_newest_is_taken_as_the_newest()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var phone = await server.ConnectAsync("bob", "phone");
        await using var laptop = await server.ConnectAsync("bob", "laptop");
        for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 3);
        await server.WaitForListedAsync("bob", "s:alice:bob", 3);

        await phone.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 99 });
        Assert.Equal(3, (await laptop.ExpectAsync("read")).GetProperty("cseq").GetInt64());
        await phone.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 1 });

        // Neither read was an error: everything before the pong is a msg.
        await phone.SendAsync(new { t = "ping" });
        for (var frame = await phone.ReceiveAsync(); frame.GetProperty("t").GetString() != "pong"; frame = await phone.ReceiveAsync())
            Assert.Equal("msg", frame.GetProperty("t").GetString());
        Assert.Equal(3, Item(await ListAsync(server, "bob"), "s:alice:bob").GetProperty("read").GetInt64());

        // The backward read told the laptop nothing: a read that moves the position, made after it on the same path,
        // is the next read the laptop hears of.
        await alice.SendChatAsync(4, "bob", "m4");
        await server.WaitForListedAsync("bob", "s:alice:bob", 4);
        await phone.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 4 });
        Assert.Equal(4, (await laptop.ExpectAsync("read")).GetProperty("cseq").GetInt64());
    }

    [Fact]
    public async Task The_other_party_gets_delivered_and_read_receipts_and_a_stranger_gets_none()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await alice.SendChatAsync(1, "bob", "hello");
        await alice.ExpectAsync("ack");

        var msg = await bob.ExpectAsync("msg");
        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        var delivered = await alice.ExpectAsync("receipt");
        Assert.Equal(("s:alice:bob", "bob", 1L), (delivered.GetProperty("conv").GetString(), delivered.GetProperty("user").GetString(), delivered.GetProperty("delivered").GetInt64()));
        Assert.False(delivered.TryGetProperty("read", out _));

        await bob.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 1 });
        var read = await alice.ExpectAsync("receipt");
        Assert.Equal((1L, 1L), (read.GetProperty("delivered").GetInt64(), read.GetProperty("read").GetInt64()));

        var receipts = await GetAsync(server, "alice", "/api/conversations/s:alice:bob/receipts");
        var only = Assert.Single(receipts.GetProperty("items").EnumerateArray());
        Assert.Equal(("bob", 1L, 1L), (only.GetProperty("user").GetString(), only.GetProperty("delivered").GetInt64(), only.GetProperty("read").GetInt64()));
        await GetAsync(server, "carol", "/api/conversations/s:alice:bob/receipts", HttpStatusCode.Forbidden);
        await GetAsync(server, "alice", "/api/conversations/s:alice:zed/receipts", HttpStatusCode.NotFound);

        // Neither carol (a stranger) nor bob (whose positions they are) heard of them. Receipts go out in flushes, one
        // after another; alice's read receipt has arrived, so any receipt of bob's positions went out in its flush or an
        // earlier one — before the receipt of a position that moves only now. bob and carol write to each other and
        // ack: the first receipt each of them gets is the other's.
        await bob.SendChatAsync(1, "carol", "hi carol");
        await bob.ExpectBeforeAsync("ack", "receipt");
        var toCarol = await carol.ExpectBeforeAsync("msg", "receipt");
        await carol.SendAsync(new { t = "ack", seq = toCarol.GetProperty("seq").GetInt64() });
        var ofCarol = await bob.ExpectAsync("receipt");
        Assert.Equal(("s:bob:carol", "carol"), (ofCarol.GetProperty("conv").GetString(), ofCarol.GetProperty("user").GetString()));

        await carol.SendChatAsync(1, "bob", "hi bob");
        await carol.ExpectBeforeAsync("ack", "receipt");
        var toBob = await bob.ExpectAsync("msg");
        while (toBob.GetProperty("from").GetString() != "carol") toBob = await bob.ExpectAsync("msg");
        await bob.SendAsync(new { t = "ack", seq = toBob.GetProperty("seq").GetInt64() });
        var ofBob = await carol.ExpectAsync("receipt");
        Assert.Equal(("s:bob:carol", "bob"), (ofBob.GetProperty("conv").GetString(), ofBob.GetProperty("user").GetString()));
    }

    [Fact]
    public async Task In_a_small_group_a_members_read_sends_receipts_to_the_others_and_its_acks_alone_do_not()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await server.WaitForGroupHeadAsync(gid, 1);
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await alice.SendChatAsync(1, gid, "hello all", ope: 1);
        await alice.ExpectAsync("ack");

        var msg = await ChatMessageAsync(bob);
        var cseq = msg.GetProperty("cseq").GetInt64();
        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });

        // Receipts go out in flushes, one after another. A flush writes bob's delivered position (and would send the
        // receipt of it); a later one writes carol's: then bob's flush, and whatever it sent, is over. bob's read comes
        // after it, so its receipt is the first receipt the others may get.
        await WaitForDeliveredAsync(server, "alice", $"g:{gid}", "bob", cseq);
        await carol.SendAsync(new { t = "ack", seq = (await ChatMessageAsync(carol)).GetProperty("seq").GetInt64() });
        await WaitForDeliveredAsync(server, "alice", $"g:{gid}", "carol", cseq);
        await bob.SendAsync(new { t = "read", conv = $"g:{gid}", cseq });

        foreach (var other in new[] { alice, carol })
        {
            var receipt = await other.ExpectAsync("receipt");
            // An absent read is 0: a receipt of bob's ack alone would fail here, not throw.
            Assert.Equal(($"g:{gid}", "bob", cseq, cseq), (receipt.GetProperty("conv").GetString(), receipt.GetProperty("user").GetString(),
                receipt.GetProperty("delivered").GetInt64(), receipt.TryGetProperty("read", out var read) ? read.GetInt64() : 0));
        }

        // The reader hears nothing of its own read: carol's read, in a later flush, is the first receipt bob gets.
        await carol.SendAsync(new { t = "read", conv = $"g:{gid}", cseq });
        var ofCarol = await bob.ExpectAsync("receipt");
        Assert.Equal(($"g:{gid}", "carol", cseq), (ofCarol.GetProperty("conv").GetString(), ofCarol.GetProperty("user").GetString(), ofCarol.GetProperty("read").GetInt64()));
    }

    /// <summary>The next chat message (membership events skipped); a receipt before it fails the test.</summary>
    private static async Task<JsonElement> ChatMessageAsync(TestSocket socket)
    {
        var msg = await socket.ExpectBeforeAsync("msg", "receipt");
        while (msg.GetProperty("type").GetInt32() < 0) msg = await socket.ExpectBeforeAsync("msg", "receipt");
        return msg;
    }

    private static Task WaitForDeliveredAsync(GatewayServer server, string asker, string conv, string user, long cseq) =>
        Wait.UntilAsync(async () => (await GetAsync(server, asker, $"/api/conversations/{conv}/receipts")).GetProperty("items").EnumerateArray()
            .Any(i => i.GetProperty("user").GetString() == user && i.GetProperty("delivered").GetInt64() >= cseq), $"{user}'s delivered position in {conv} reached {cseq}");

    [Fact]
    public async Task Typing_is_relayed_to_the_other_members_at_most_once_per_two_seconds_and_never_stored()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await using var dave = await server.ConnectAsync("dave");
        await server.WaitForInboxHeadAsync("bob", 1);

        for (var i = 0; i < 3; i++) await alice.SendAsync(new { t = "typing", conv = $"g:{gid}" });

        foreach (var member in new[] { bob, carol })
        {
            var typing = await member.ExpectAsync("typing");
            Assert.Equal(($"g:{gid}", "alice"), (typing.GetProperty("conv").GetString(), typing.GetProperty("user").GetString()));
        }
        // A typing frame is relayed while it is handled (in one process, straight into the members' queues), so by
        // alice's pong all three were relayed or dropped: none came back to alice herself, ...
        await alice.AssertNoneBeforePongAsync("typing");
        // ... none reached dave, who is not a member (his pong is queued after anything relayed to him) ...
        await dave.AssertNoneBeforePongAsync("typing");
        // ... and only the first reached bob: carol's typing, relayed after them, is the next he gets.
        await carol.SendAsync(new { t = "typing", conv = $"g:{gid}" });
        Assert.Equal("carol", (await bob.ExpectAsync("typing")).GetProperty("user").GetString());
        // Nothing stored: the timeline holds only the group's creation, the inboxes nothing more.
        var history = await OneToOneTests.HistoryAsync(server, "bob", $"g:{gid}");
        Assert.Equal([-1], history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("type").GetInt32()));
        var store = (AspireChat.Messaging.Storage.IInboxStore)server.Services.GetService(typeof(AspireChat.Messaging.Storage.IInboxStore))!;
        Assert.Equal(1, await store.GetInboxHeadAsync("bob"));
    }

    [Fact]
    public async Task Large_groups_relay_no_typing_and_send_no_receipts_but_answer_the_receipts_query()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        // Members connected before stage 1 applied the membership would not be in the node's map of the group.
        await server.WaitForGroupHeadAsync(gid, 1);
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, gid, "to many", ope: 1);
        await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        Assert.False(msg.TryGetProperty("seq", out _));

        await bob.SendAsync(new { t = "typing", conv = $"g:{gid}" });
        await bob.SendAsync(new { t = "ack", group = gid, cseq = msg.GetProperty("cseq").GetInt64() });
        await bob.SendAsync(new { t = "read", conv = $"g:{gid}", cseq = msg.GetProperty("cseq").GetInt64() });

        // A typing frame is relayed while it is handled: after bob's pong, alice's pong comes after anything relayed to her.
        await bob.SendAsync(new { t = "ping" });
        await bob.ExpectAsync("pong");
        await alice.AssertNoneBeforePongAsync("typing", "receipt");
        // Receipts go out in flushes, one after another: a receipt of bob's group read would go out no later than the
        // flush that sends the receipt of an ack bob makes after it, and so before the receipt of a read he makes once that
        // one has arrived. Both are of their one-to-one conversation.
        await alice.SendChatAsync(2, "bob", "direct");
        await alice.ExpectBeforeAsync("ack", "typing", "receipt");
        var direct = await bob.ExpectAsync("msg");
        await bob.SendAsync(new { t = "ack", seq = direct.GetProperty("seq").GetInt64() });
        var delivered = await alice.ExpectBeforeAsync("receipt", "typing");
        Assert.Equal(("s:alice:bob", 1L), (delivered.GetProperty("conv").GetString(), delivered.GetProperty("delivered").GetInt64()));
        await bob.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = direct.GetProperty("cseq").GetInt64() });
        var read = await alice.ExpectBeforeAsync("receipt", "typing");
        Assert.Equal(("s:alice:bob", 1L), (read.GetProperty("conv").GetString(), read.GetProperty("read").GetInt64()));

        var receipts = await GetAsync(server, "alice", $"/api/conversations/g:{gid}/receipts");
        var ofBob = receipts.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("user").GetString() == "bob");
        Assert.Equal((msg.GetProperty("cseq").GetInt64(), msg.GetProperty("cseq").GetInt64()), (ofBob.GetProperty("delivered").GetInt64(), ofBob.GetProperty("read").GetInt64()));
        // The list reads the large group at its head: alice's message is unread for carol, read for bob.
        Assert.Equal(1, Item(await ListAsync(server, "carol"), $"g:{gid}").GetProperty("unread").GetInt64());
        var bobs = Item(await ListAsync(server, "bob"), $"g:{gid}");
        Assert.Equal((0L, "to many"), (bobs.GetProperty("unread").GetInt64(), bobs.GetProperty("last").GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Read_and_typing_answer_forbidden_not_found_and_bad_frame_and_the_connection_stays()
    {
        await using var server = await StartServerAsync();
        await using var phone = await server.ConnectAsync("alice");
        var alice = phone;
        await using var bob = await server.ConnectAsync("bob");
        await bob.SendChatAsync(1, "carol", "private");
        await bob.ExpectAsync("ack");
        await server.WaitForInboxHeadAsync("carol", 1);

        Assert.Equal("forbidden", (await ErrorAsync(alice, new { t = "read", conv = "s:bob:carol", cseq = 1 })).GetProperty("code").GetString());
        Assert.Equal("forbidden", (await ErrorAsync(alice, new { t = "typing", conv = "s:bob:carol" })).GetProperty("code").GetString());
        Assert.Equal("not_found", (await ErrorAsync(alice, new { t = "read", conv = "g:nosuch", cseq = 1 })).GetProperty("code").GetString());
        Assert.Equal("not_found", (await ErrorAsync(alice, new { t = "read", conv = "s:alice:zed", cseq = 1 })).GetProperty("code").GetString());
        Assert.Equal("not_found", (await ErrorAsync(alice, new { t = "typing", conv = "g:nosuch" })).GetProperty("code").GetString());
        await alice.SendAsync(new { t = "ping" });
        Assert.Equal("pong", (await alice.ExpectAsync("pong")).GetProperty("t").GetString());

        // More than 10 refused frames within 10 s close a connection (4400): the bad frames go on another of alice's.
        await using var tablet = await server.ConnectAsync("alice", "tablet");
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "read", conv = 5, cseq = 1 })).GetProperty("code").GetString());
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "read", conv = "s:alice:bob" })).GetProperty("code").GetString());
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "read", conv = "s:alice:bob", cseq = -1 })).GetProperty("code").GetString());
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "read", conv = "nonsense", cseq = 1 })).GetProperty("code").GetString());
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "typing", conv = "nonsense" })).GetProperty("code").GetString());
        Assert.Equal("bad_frame", (await ErrorAsync(tablet, new { t = "typing" })).GetProperty("code").GetString());

        await tablet.SendAsync(new { t = "ping" });
        Assert.Equal("pong", (await tablet.ExpectAsync("pong")).GetProperty("t").GetString());
        Assert.Equal(0, Item(await ListAsync(server, "carol"), "s:bob:carol").GetProperty("read").GetInt64());
    }

    [Fact]
    public async Task The_list_pages_by_before_and_next_without_skipping_or_repeating_a_conversation()
    {
        await using var server = await StartServerAsync();
        var senders = Enumerable.Range(1, 5).Select(i => $"u{i}").ToList();
        foreach (var sender in senders)
        {
            await using var socket = await server.ConnectAsync(sender);
            await socket.SendChatAsync(1, "bob", $"from {sender}");
            await socket.ExpectAsync("ack");
        }
        await server.WaitForInboxHeadAsync("bob", 5);

        var seen = new List<string>();
        string query = "?limit=2";
        for (var page = 0; ; page++)
        {
            Assert.True(page < 5, "the pages never ended");
            var list = await ListAsync(server, "bob", query);
            var items = list.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 2);
            seen.AddRange(items.Select(i => i.GetProperty("with").GetString()!));
            if (!list.TryGetProperty("next", out var next)) break;
            query = $"?limit=2&before={next.GetInt64()}";
        }
        Assert.Equal(Enumerable.Reverse(senders), seen);

        using var bad = await server.RequestAsync("bob", HttpMethod.Get, "/api/conversations?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task The_index_and_read_positions_survive_a_restart_on_the_same_data_folder()
    {
        var folder = TempDirectory.Create();
        await using (var server = await StartServerAsync(dataDirectory: folder))
        {
            await using var alice = await server.ConnectAsync("alice");
            await using var bob = await server.ConnectAsync("bob");
            for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
            await alice.ExpectManyAsync("ack", 3);
            await server.WaitForListedAsync("bob", "s:alice:bob", 3);
            var msgs = await bob.ExpectManyAsync("msg", 3);
            await bob.SendAsync(new { t = "ack", seq = msgs[^1].GetProperty("seq").GetInt64() });
            await bob.SendAsync(new { t = "read", conv = "s:alice:bob", cseq = 2 });
            await Wait.UntilAsync(async () => Item(await ListAsync(server, "bob"), "s:alice:bob").GetProperty("read").GetInt64() == 2, "bob's read is at 2");
            await Wait.UntilAsync(async () => (await GetAsync(server, "alice", "/api/conversations/s:alice:bob/receipts"))
                .GetProperty("items")[0].GetProperty("delivered").GetInt64() == 3, "bob's delivered position is at 3");
        }

        await using var again = await StartServerAsync(dataDirectory: folder);
        var item = Item(await ListAsync(again, "bob"), "s:alice:bob");
        Assert.Equal((2L, 1L, "m3"), (item.GetProperty("read").GetInt64(), item.GetProperty("unread").GetInt64(), item.GetProperty("last").GetProperty("body").GetProperty("text").GetString()));
        var receipt = (await GetAsync(again, "alice", "/api/conversations/s:alice:bob/receipts")).GetProperty("items")[0];
        Assert.Equal((3L, 2L), (receipt.GetProperty("delivered").GetInt64(), receipt.GetProperty("read").GetInt64()));
    }
}

public sealed class EmbeddedConversationTests : ConversationTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();
}

/// <summary>Stage 0 to the log, stages 1 and 2 as its consumers — the index is then stage 2's own write.</summary>
public sealed class DistributedConversationTests : ConversationTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };
}
