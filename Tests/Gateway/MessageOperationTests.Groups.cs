using System.Net;
using System.Text.Json;
using AspireChat.Messaging.Groups;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// docs/protocol.md §13 in groups and by role: who may pin, recall and mention <c>@all</c> (owner, admin, member, either
/// party of a one-to-one conversation), what a member may name from before it joined, and large groups' read diffusion.
/// </summary>
public abstract partial class MessageOperationTests
{
    // No endpoint grants the admin role yet (docs/protocol.md §12): the store is given one, as the group's create event
    // would have left it had it named an admin — a member since cseq 1.
    private static async Task AddAdminAsync(GatewayServer server, string gid, string user) =>
        await server.Services.GetRequiredService<IGroupStore>().ApplyMembershipAsync(gid, 1, [new MembershipChange(user, GroupRoles.Admin)]);

    private static Task PastItsTsAsync(JsonElement ack)
    {
        var ts = ack.GetProperty("ts").GetInt64();
        return Wait.UntilAsync(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > ts, "the clock passes the message's ts");
    }

    [Fact]
    public async Task The_owner_recalls_a_members_message_past_the_recall_window_that_the_member_no_longer_may()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Messages:RecallWindow"] = "00:00:00" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        var said = await SayAsync(bob, 1, gid, "regrettable", ope: 1);
        await PastItsTsAsync(said);

        Assert.Equal("forbidden", Code(await OperateAsync(bob, new { t = "recall", req = 2, conv, target = Id(said) })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 1, conv, target = Id(said) })));

        var entry = await ExpectEntryAsync(carol, -11);
        Assert.Equal((Id(said), "alice"), (entry.GetProperty("body").GetProperty("target").GetString(), entry.GetProperty("body").GetProperty("by").GetString()));
        Assert.True(ById(await HistoryAsync(server, "carol", conv), Id(said)).GetProperty("recalled").GetBoolean());
    }

    [Fact]
    public async Task An_admin_who_is_not_the_owner_may_pin_recall_others_messages_and_mention_all_and_a_plain_member_may_not()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Messages:RecallWindow"] = "00:00:00" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = $"g:{gid}";
        await AddAdminAsync(server, gid, "dave");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await using var dave = await server.ConnectAsync("dave");
        var said = await SayAsync(bob, 1, gid, "spam", ope: 1);
        await PastItsTsAsync(said);
        var target = Id(said);

        Assert.Equal("forbidden", Code(await OperateAsync(carol, new { t = "pin", req = 1, conv, target, on = true })));
        Assert.Equal("forbidden", Code(await OperateAsync(carol, new { t = "recall", req = 2, conv, target })));
        Assert.Equal("forbidden", Code(await SayAsync(carol, 3, gid, "everyone!", ope: 1, mentions: ["@all"])));

        Assert.Equal("ack", Code(await OperateAsync(dave, new { t = "pin", req = 1, conv, target, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(dave, new { t = "recall", req = 2, conv, target })));
        Assert.Equal("ack", Code(await SayAsync(dave, 3, gid, "everyone: spam removed", ope: 1, mentions: ["@all"])));

        var pinned = await ExpectEntryAsync(carol, -13);
        var recalled = await ExpectEntryAsync(carol, -11);
        Assert.Equal(("dave", "dave"), (pinned.GetProperty("from").GetString(), recalled.GetProperty("body").GetProperty("by").GetString()));
        var all = await ExpectEntryAsync(carol, 1);
        Assert.Equal(["@all"], all.GetProperty("mentions").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task In_a_one_to_one_conversation_the_receiving_party_may_pin_and_unpin()
    {
        await using var server = await StartServerAsync();
        var conv = "s:alice:bob";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var target = Id(await SayAsync(alice, 1, "bob", "the door code is on the fridge"));

        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "pin", req = 1, conv, target, on = true })));
        var pinned = await ExpectEntryAsync(alice, -13);
        Assert.Equal(("bob", target, true), (pinned.GetProperty("from").GetString(),
            pinned.GetProperty("body").GetProperty("target").GetString(), pinned.GetProperty("body").GetProperty("on").GetBoolean()));
        Assert.Equal([target], (await GetAsync(server, "alice", $"/api/conversations/{conv}/pins")).GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetString()));

        Assert.Equal("ack", Code(await OperateAsync(bob, new { t = "pin", req = 2, conv, target, on = false })));
        Assert.False((await ExpectEntryAsync(alice, -13)).GetProperty("body").GetProperty("on").GetBoolean());
        Assert.Equal(0, (await GetAsync(server, "alice", $"/api/conversations/{conv}/pins")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_member_may_not_reply_to_or_operate_on_a_message_from_before_it_joined()
    {
        await using var server = await StartServerAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        var before = Id(await SayAsync(alice, 1, gid, "before dave", ope: 1));
        using (var added = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "dave" } }))
            Assert.Equal(HttpStatusCode.NoContent, added.StatusCode);
        await using var dave = await server.ConnectAsync("dave");

        Assert.Equal("not_found", Code(await SayAsync(dave, 1, gid, "what was that?", ope: 1, reply: before)));
        Assert.Equal("not_found", Code(await OperateAsync(dave, new { t = "react", req = 2, conv, target = before, emoji = "👀", on = true })));
        await GetAsync(server, "dave", $"/api/conversations/{conv}/messages/{before}", HttpStatusCode.NotFound);

        // What came after dave joined is his to answer.
        var after = Id(await SayAsync(alice, 2, gid, "welcome dave", ope: 1));
        Assert.Equal("ack", Code(await SayAsync(dave, 3, gid, "thanks", ope: 1, reply: after)));
        Assert.Equal("ack", Code(await OperateAsync(dave, new { t = "react", req = 4, conv, target = after, emoji = "👋", on = true })));
    }

    [Fact]
    public async Task In_a_large_group_operations_reach_members_live_and_replay_in_cseq_order_by_gsync()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol", "dave");
        var conv = $"g:{gid}";
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var dave = await server.ConnectAsync("dave");
        var target = Id(await SayAsync(alice, 1, gid, "agenda: draft", ope: 1));
        var message = await ExpectEntryAsync(bob, 1);

        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "edit", req = 2, conv, target, body = new { text = "agenda: final" } })));
        Assert.Equal("ack", Code(await OperateAsync(dave, new { t = "react", req = 1, conv, target, emoji = "✅", on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "pin", req = 3, conv, target, on = true })));
        Assert.Equal("ack", Code(await OperateAsync(alice, new { t = "recall", req = 4, conv, target })));

        // Read diffusion: each entry reaches the online member as a live notice, without an inbox seq.
        var live = new List<JsonElement>();
        for (var i = 0; i < 4; i++) live.Add(await bob.ExpectAsync("msg"));
        Assert.Equal([-10, -12, -13, -11], live.OrderBy(Cseq).Select(m => m.GetProperty("type").GetInt32()));
        Assert.All(live.Append(message), m => Assert.False(m.TryGetProperty("seq", out _)));

        // carol was offline for all of it: gsync replays every entry, in cseq order and without a gap.
        await server.WaitForGroupHeadAsync(gid, Cseq(message) + 4);
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
        Assert.Equal(Enumerable.Range(1, synced.Count).Select(i => (long)i), synced.Select(Cseq));
        Assert.Equal([-1, 1, -10, -12, -13, -11], synced.Select(m => m.GetProperty("type").GetInt32()));
        // Recalled before carol synced: neither the message's nor the edit's content comes back.
        Assert.Equal("{}", synced[1].GetProperty("body").GetRawText());
        Assert.False(synced[2].GetProperty("body").TryGetProperty("body", out _));
        var shown = ById(await HistoryAsync(server, "carol", conv), target);
        Assert.True(shown.GetProperty("recalled").GetBoolean());
        Assert.Equal(["dave"], shown.GetProperty("reactions").GetProperty("✅").EnumerateArray().Select(u => u.GetString()));
    }

    private static long Cseq(JsonElement m) => m.GetProperty("cseq").GetInt64();
}
