using System.Net;
using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>Runs against both compositions of the stages: <see cref="EmbeddedGroupTests"/> and <see cref="DistributedGroupTests"/>.</summary>
public abstract class GroupTests
{
    /// <summary>The settings that choose the composition.</summary>
    protected abstract IDictionary<string, string?> Composition { get; }

    private Task<GatewayServer> StartServerAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(Composition);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return GatewayServer.StartAsync(all);
    }

    private static long Cseq(JsonElement m) => m.GetProperty("cseq").GetInt64();
    private static string Text(JsonElement m) => m.GetProperty("body").TryGetProperty("text", out var t) ? t.GetString()! : "";
    private static bool IsChat(JsonElement m) => m.GetProperty("type").GetInt32() >= 0;

    /// <summary>The next <paramref name="count"/> chat messages (membership events skipped).</summary>
    private static async Task<List<JsonElement>> ChatMessagesAsync(TestSocket socket, int count, TimeSpan? timeout = null)
    {
        var messages = new List<JsonElement>();
        while (messages.Count < count)
        {
            var m = await socket.ExpectAsync("msg", timeout ?? TimeSpan.FromSeconds(20));
            if (IsChat(m)) messages.Add(m);
        }
        return messages;
    }

    [Fact]
    public async Task Every_member_of_a_small_group_gets_each_message_with_one_shared_cseq()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");

        await alice.SendChatAsync(1, gid, "hello group", ope: 1);
        var ack = await alice.ExpectAsync("ack");
        Assert.Equal($"g:{gid}", ack.GetProperty("conv").GetString());

        var received = new[] { (await ChatMessagesAsync(alice, 1))[0], (await ChatMessagesAsync(bob, 1))[0], (await ChatMessagesAsync(carol, 1))[0] };
        Assert.All(received, m => Assert.Equal(ack.GetProperty("id").GetString(), m.GetProperty("id").GetString()));
        Assert.Single(received.Select(Cseq).Distinct());
        Assert.All(received, m => Assert.True(m.TryGetProperty("seq", out _), "small groups are delivered through the inbox"));
        Assert.All(received, m => Assert.Equal(1, m.GetProperty("ope").GetInt32()));
    }

    [Fact]
    public async Task Concurrent_senders_in_one_group_give_every_member_the_identical_order_and_each_senders_own_order()
    {
        await using var server = await StartServerAsync();
        string[] users = ["u1", "u2", "u3", "u4"];
        var gid = await server.CreateGroupAsync("u1", users);
        var sockets = new List<TestSocket>();
        foreach (var u in users) sockets.Add(await server.ConnectAsync(u));
        try
        {
            const int each = 40;
            await Task.WhenAll(sockets.Take(3).Select(async (s, i) =>
            {
                for (var n = 1; n <= each; n++) await s.SendChatAsync(n, gid, $"{users[i]}:{n}", ope: 1);
            }));

            var views = await Task.WhenAll(sockets.Select(s => ChatMessagesAsync(s, 3 * each)));
            var reference = views[0].Select(Text).ToList();
            foreach (var view in views)
            {
                Assert.Equal(reference, view.Select(Text));
                var cseqs = view.Select(Cseq).ToList();
                Assert.Equal(cseqs.Order(), cseqs);
                Assert.Equal(cseqs.Count, cseqs.Distinct().Count());
            }
            foreach (var sender in users.Take(3))
            {
                var own = reference.Where(t => t.StartsWith(sender + ":", StringComparison.Ordinal)).Select(t => int.Parse(t[(sender.Length + 1)..])).ToList();
                Assert.Equal(Enumerable.Range(1, each), own);
            }
        }
        finally
        {
            foreach (var s in sockets) await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task Non_member_send_is_forbidden_and_unknown_group_is_not_found()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        await using var mallory = await server.ConnectAsync("mallory");
        await mallory.SendChatAsync(1, gid, "let me in", ope: 1);
        var error = await mallory.ExpectAsync("error");
        Assert.Equal("forbidden", error.GetProperty("code").GetString());
        Assert.Equal(1, error.GetProperty("req").GetInt64());

        await mallory.SendChatAsync(2, "999999", "anyone?", ope: 1);
        error = await mallory.ExpectAsync("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());

        await mallory.SendAsync(new { t = "gsync", group = gid, after = 0, limit = 10 });
        Assert.Equal("forbidden", (await mallory.ExpectAsync("error")).GetProperty("code").GetString());
        await mallory.SendAsync(new { t = "gsync", group = "424242", after = 0, limit = 10 });
        Assert.Equal("not_found", (await mallory.ExpectAsync("error")).GetProperty("code").GetString());
        using var history = await server.RequestAsync("mallory", HttpMethod.Get, $"/api/conversations/g:{gid}/messages");
        Assert.Equal(HttpStatusCode.Forbidden, history.StatusCode);
    }

    [Fact]
    public async Task Removed_member_stops_receiving_and_cannot_read_past_its_removal()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, gid, "before", ope: 1);
        var before = (await ChatMessagesAsync(bob, 1))[0];
        Assert.Equal("before", Text(before));
        // Acknowledged, so the ack-timeout re-push cannot be mistaken for a message after the removal.
        await bob.SendAsync(new { t = "ack", seq = before.GetProperty("seq").GetInt64() });

        using (var removed = await server.RequestAsync("alice", HttpMethod.Delete, $"/api/groups/{gid}/members/bob"))
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        await alice.SendChatAsync(2, gid, "after", ope: 1);
        await alice.ExpectAsync("ack");
        var after = (await ChatMessagesAsync(alice, 2))[1];

        // bob sees the removal event; whether "after" reached him is settled at the end, when he is added again.
        var removal = await bob.ExpectAsync("msg");
        Assert.Equal(-3, removal.GetProperty("type").GetInt32());
        await bob.SendAsync(new { t = "ack", seq = removal.GetProperty("seq").GetInt64() });

        await bob.SendChatAsync(1, gid, "still here?", ope: 1);
        Assert.Equal("forbidden", (await bob.ExpectBeforeAsync("error", "msg")).GetProperty("code").GetString());

        await bob.SendAsync(new { t = "gsync", group = gid, after = 0, limit = 100 });
        var page = await bob.ExpectBeforeAsync("gsync", "msg");
        var texts = page.GetProperty("items").EnumerateArray().Where(IsChat).Select(Text).ToList();
        Assert.Equal(["before"], texts);
        Assert.False(page.GetProperty("more").GetBoolean());

        var history = await OneToOneTests.HistoryAsync(server, "bob", $"g:{gid}");
        Assert.DoesNotContain("after", history.GetProperty("items").EnumerateArray().Select(Text));
        Assert.Contains("before", history.GetProperty("items").EnumerateArray().Select(Text));

        // Added again, bob gets the event of it at the cseq after "after": anything of the group between his removal and
        // now would have come before it, through the same stages in the group's order. The next msg he gets is that event.
        using (var added = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "bob" } }))
            Assert.True(added.IsSuccessStatusCode, $"adding bob again answered {added.StatusCode}");
        var next = await bob.ExpectAsync("msg");
        Assert.Equal((-2, Cseq(after) + 1), (next.GetProperty("type").GetInt32(), Cseq(next)));
    }

    [Fact]
    public async Task New_member_does_not_see_older_messages()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, gid, "secret from before", ope: 1);
        await alice.ExpectAsync("ack");

        using (var added = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "dave" } }))
            Assert.Equal(HttpStatusCode.NoContent, added.StatusCode);
        await using var dave = await server.ConnectAsync("dave");
        await alice.SendChatAsync(2, gid, "welcome dave", ope: 1);
        Assert.Equal("welcome dave", Text((await ChatMessagesAsync(dave, 1))[0]));

        var history = await OneToOneTests.HistoryAsync(server, "dave", $"g:{gid}");
        var texts = history.GetProperty("items").EnumerateArray().Select(Text).ToList();
        Assert.Contains("welcome dave", texts);
        Assert.DoesNotContain("secret from before", texts);

        await dave.SendAsync(new { t = "gsync", group = gid, after = 0, limit = 100 });
        var page = await dave.ExpectAsync("gsync");
        Assert.DoesNotContain("secret from before", page.GetProperty("items").EnumerateArray().Select(Text));

        var info = await server.RequestAsync("dave", HttpMethod.Get, $"/api/groups/{gid}");
        var json = JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("alice", json.GetProperty("owner").GetString());
        Assert.Equal(["alice", "dave"], json.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("user").GetString()));
    }

    [Fact]
    public async Task Large_group_is_delivered_live_without_seq_and_synced_by_cseq()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol", "dave");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        await alice.SendChatAsync(1, gid, "live", ope: 1);
        var live = (await ChatMessagesAsync(bob, 1))[0];
        Assert.False(live.TryGetProperty("seq", out _));
        Assert.Equal("live", Text(live));
        await bob.SendAsync(new { t = "ack", group = gid, cseq = Cseq(live) });

        // carol is offline for all of it and catches up with gsync, page by page.
        for (var req = 2; req <= 6; req++) await alice.SendChatAsync(req, gid, $"m{req}", ope: 1);
        await alice.ExpectManyAsync("ack", 5);
        // gsync reads the timeline: wait until stage 1 has sequenced all five.
        await server.WaitForGroupHeadAsync(gid, Cseq(live) + 5);
        await using var carol = await server.ConnectAsync("carol", cursor: 0);
        var synced = new List<JsonElement>();
        long after = 0;
        while (true)
        {
            await carol.SendAsync(new { t = "gsync", group = gid, after, limit = 2 });
            var page = await carol.ExpectAsync("gsync");
            synced.AddRange(page.GetProperty("items").EnumerateArray());
            after = page.GetProperty("next").GetInt64();
            if (!page.GetProperty("more").GetBoolean()) break;
        }
        Assert.Equal(["live", "m2", "m3", "m4", "m5", "m6"], synced.Where(IsChat).Select(Text));
        Assert.Equal(synced.Select(Cseq).Order(), synced.Select(Cseq));
    }

    [Fact]
    public async Task Reconnect_with_hello_groups_delivers_the_missed_page()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        long seen;
        await using (var bob = await server.ConnectAsync("bob"))
        {
            await alice.SendChatAsync(1, gid, "first", ope: 1);
            seen = Cseq((await ChatMessagesAsync(bob, 1))[0]);
        }
        for (var req = 2; req <= 4; req++) await alice.SendChatAsync(req, gid, $"missed{req}", ope: 1);
        await alice.ExpectManyAsync("ack", 4);
        // The page is read from the timeline: wait until stage 1 has sequenced all four.
        await server.WaitForGroupHeadAsync(gid, seen + 3);

        var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        await using var bobAgain = socket;
        await socket.SendAsync(new Dictionary<string, object>
        {
            ["t"] = "hello", ["token"] = await server.TokenAsync("bob"), ["device"] = "d1",
            ["groups"] = new Dictionary<string, long> { [gid] = seen },
        });
        await socket.ExpectAsync("welcome");
        var page = await ChatMessagesAsync(socket, 3);
        Assert.Equal(["missed2", "missed3", "missed4"], page.Select(Text));
        Assert.All(page, m => Assert.False(m.TryGetProperty("seq", out _)));
    }

    [Fact]
    public async Task Group_growing_past_the_limit_and_shrinking_back_loses_and_duplicates_nothing()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Groups:WriteDiffusionLimit"] = "3" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var req = 0;
        async Task SendBatchAsync(int count)
        {
            for (var i = 0; i < count; i++) { req++; await alice.SendChatAsync(req, gid, $"m{req}", ope: 1); }
        }

        await SendBatchAsync(10);                                            // write diffusion (3 members)
        using (var grow = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "dave", "erin" } }))
            Assert.Equal(HttpStatusCode.NoContent, grow.StatusCode);
        await SendBatchAsync(10);                                            // read diffusion (5 members)
        foreach (var leaving in new[] { "dave", "erin" })
        {
            using var shrink = await server.RequestAsync(leaving, HttpMethod.Delete, $"/api/groups/{gid}/members/{leaving}");
            Assert.Equal(HttpStatusCode.NoContent, shrink.StatusCode);
        }
        await SendBatchAsync(10);                                            // write diffusion again

        var received = await ChatMessagesAsync(bob, 30);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"m{i}").Order(), received.Select(Text).Order());
        Assert.Equal(30, received.Select(Cseq).Distinct().Count());
        Assert.Contains(received, m => !m.TryGetProperty("seq", out _));    // some came by read diffusion
        Assert.Contains(received, m => m.TryGetProperty("seq", out _));     // and some through the inbox
        // Each path keeps the conversation order.
        var viaInbox = received.Where(m => m.TryGetProperty("seq", out _)).Select(Cseq).ToList();
        var viaGroup = received.Where(m => !m.TryGetProperty("seq", out _)).Select(Cseq).ToList();
        Assert.Equal(viaInbox.Order(), viaInbox);
        Assert.Equal(viaGroup.Order(), viaGroup);

        // The whole timeline reads back in one order, each message once.
        var history = await OneToOneTests.HistoryAsync(server, "bob", $"g:{gid}", "?limit=200");
        var chat = history.GetProperty("items").EnumerateArray().Where(IsChat).Select(Text).ToList();
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"m{i}"), chat);
    }

    [Fact]
    public async Task Group_api_checks_who_may_do_what()
    {
        await using var server = await StartServerAsync();
        using (var bad = await server.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { name = "x", members = new[] { "not valid!" } }))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var noName = await server.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { members = new[] { "bob" } }))
            Assert.Equal(HttpStatusCode.BadRequest, noName.StatusCode);
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");

        using (var notMember = await server.RequestAsync("mallory", HttpMethod.Get, $"/api/groups/{gid}"))
            Assert.Equal(HttpStatusCode.Forbidden, notMember.StatusCode);
        using (var unknown = await server.RequestAsync("alice", HttpMethod.Get, "/api/groups/123"))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var memberAdds = await server.RequestAsync("bob", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "zed" } }))
            Assert.Equal(HttpStatusCode.Forbidden, memberAdds.StatusCode);
        using (var memberRemovesOther = await server.RequestAsync("bob", HttpMethod.Delete, $"/api/groups/{gid}/members/carol"))
            Assert.Equal(HttpStatusCode.Forbidden, memberRemovesOther.StatusCode);
        using (var ownerLeaves = await server.RequestAsync("alice", HttpMethod.Delete, $"/api/groups/{gid}/members/alice"))
            Assert.Equal(HttpStatusCode.Conflict, ownerLeaves.StatusCode);
        using (var leave = await server.RequestAsync("bob", HttpMethod.Delete, $"/api/groups/{gid}/members/bob"))
            Assert.Equal(HttpStatusCode.NoContent, leave.StatusCode);
        using (var gone = await server.RequestAsync("bob", HttpMethod.Get, $"/api/groups/{gid}"))
            Assert.Equal(HttpStatusCode.Forbidden, gone.StatusCode);
        using (var anonymous = await server.Http.GetAsync($"/api/groups/{gid}"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Client_cannot_send_a_server_reserved_type()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendAsync(new { t = "send", req = 1, ope = 1, to = gid, type = -3, body = new { @event = "removed", user = "bob", by = "alice" } });
        var error = await alice.ExpectAsync("error");
        Assert.Equal("bad_frame", error.GetProperty("code").GetString());
        var info = await server.RequestAsync("alice", HttpMethod.Get, $"/api/groups/{gid}");
        Assert.Contains("bob", await info.Content.ReadAsStringAsync());
    }
}

/// <summary>Stages 0–2 in one write per batch (the embedded default).</summary>
public sealed class EmbeddedGroupTests : GroupTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();
}

/// <summary>Stage 0 to the log, stages 1 and 2 as its consumers — the distributed composition's code, over the in-process log.</summary>
public sealed class DistributedGroupTests : GroupTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };
}
