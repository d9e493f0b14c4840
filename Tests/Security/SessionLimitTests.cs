using System.Text.Json;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Security;

/// <summary>
/// The limits a device session enforces (docs/security.md, docs/protocol.md §7): a budget for every client frame with
/// sync and gsync weighed by what they ask for, refused frames counted as abuse, devices per user, and the bytes of a
/// hello's large-group catch-up. Each refuses what it must and lets through what it must.
/// </summary>
public sealed class SessionLimitTests
{
    private static Task<GatewayServer> StartAsync(params (string Key, string Value)[] settings) =>
        GatewayServer.StartAsync(settings.ToDictionary(s => s.Key, s => (string?)s.Value));

    [Fact]
    public async Task Frames_within_the_burst_are_served_and_the_next_one_is_rate_limited_without_closing()
    {
        // A budget that refills one frame in 1,000 s: the burst is all there is for the test.
        await using var server = await StartAsync(("Limits:FramesPerSecond", "0.001"), ("Limits:FrameBurst", "12"));
        await using var alice = await server.ConnectAsync("alice");

        for (var i = 0; i < 12; i++) await alice.SendAsync(new { t = "ping" });
        await alice.ExpectManyAsync("pong", 12);

        await alice.SendAsync(new { t = "ping" });
        var refused = await alice.ReceiveAsync();
        Assert.Equal("error", refused.GetProperty("t").GetString());
        Assert.Equal("rate_limited", refused.GetProperty("code").GetString());
        Assert.False(alice.Closed.IsCompleted);
    }

    [Fact]
    public async Task A_sync_weighs_one_plus_its_limit_over_fifty()
    {
        await using var server = await StartAsync(("Limits:FramesPerSecond", "0.001"), ("Limits:FrameBurst", "12"));
        await using var alice = await server.ConnectAsync("alice");

        // 1 + 500/50 = 11 of the 12: the sync is served, one ping more is, the next is not.
        await alice.SendAsync(new { t = "sync", after = 0, limit = 500 });
        await alice.ExpectAsync("sync");
        await alice.SendAsync(new { t = "ping" });
        await alice.ExpectAsync("pong");
        await alice.SendAsync(new { t = "sync", after = 0, limit = 1 });
        var refused = await alice.ExpectAsync("error");
        Assert.Equal("rate_limited", refused.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Flooding_past_the_frame_budget_closes_4429()
    {
        await using var server = await StartAsync(("Limits:FramesPerSecond", "0.001"), ("Limits:FrameBurst", "11"));
        await using var mallory = await server.ConnectAsync("mallory");

        for (var i = 0; i < 30 && !mallory.Closed.IsCompleted; i++)
        {
            try { await mallory.SendAsync(new { t = "ping" }); }
            catch (System.Net.WebSockets.WebSocketException) { break; }
        }

        Assert.Equal(4429, (await mallory.Closed.WaitAsync(TimeSpan.FromSeconds(15))).Code);
    }

    [Fact]
    public async Task Ten_refused_frames_are_answered_and_the_eleventh_within_ten_seconds_closes_4400()
    {
        await using var server = await StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");

        // Probing conversations that do not exist: each is answered not_found.
        for (var i = 0; i < 10; i++)
        {
            await mallory.SendAsync(new { t = "read", conv = $"s:mallory:victim{i}", cseq = 1 });
            Assert.Equal("not_found", (await mallory.ExpectAsync("error")).GetProperty("code").GetString());
        }
        await mallory.SendAsync(new { t = "ping" });
        await mallory.ExpectAsync("pong");

        await mallory.SendAsync(new { t = "typing", conv = "g:nobodys" });
        Assert.Equal(4400, (await mallory.Closed.WaitAsync(TimeSpan.FromSeconds(15))).Code);
    }

    [Fact]
    public async Task A_user_holds_at_most_MaxDevicesPerUser_connections_and_a_connected_device_may_reconnect()
    {
        await using var server = await StartAsync(("Limits:MaxDevicesPerUser", "2"));
        await using var phone = await server.ConnectAsync("alice", "phone");
        await using var laptop = await server.ConnectAsync("alice", "laptop");

        await using var third = await TestSocket.OpenAsync(server.WebSocketUri);
        await third.SendAsync(new { t = "hello", token = await server.TokenAsync("alice"), device = "tablet" });
        var refused = await third.ExpectAsync("error");
        Assert.Equal("forbidden", refused.GetProperty("code").GetString());
        Assert.Equal(4403, (await third.Closed.WaitAsync(TimeSpan.FromSeconds(15))).Code);

        // The phone reconnecting replaces its own connection; bob is not limited by alice's devices.
        await using var phoneAgain = await server.ConnectAsync("alice", "phone");
        Assert.Equal(1000, (await phone.Closed.WaitAsync(TimeSpan.FromSeconds(15))).Code);
        await using var bob = await server.ConnectAsync("bob", "tablet");
    }

    [Fact]
    public async Task A_hellos_large_group_catch_up_stops_at_its_byte_cap_and_gsync_brings_the_rest()
    {
        await using var server = await StartAsync(("Groups:WriteDiffusionLimit", "2"), ("Groups:HelloCatchUpBytes", "65536"));
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        await using var alice = await server.ConnectAsync("alice");
        var text = new string('x', 8000);
        for (var req = 1; req <= 20; req++) await alice.SendChatAsync(req, gid, $"{req}:{text}", ope: 1);
        await alice.ExpectManyAsync("ack", 20);
        await WaitForGroupMessagesAsync(server, gid, 20);

        await using var bob = await TestSocket.OpenAsync(server.WebSocketUri);
        await bob.SendAsync(new Dictionary<string, object>
        {
            ["t"] = "hello", ["token"] = await server.TokenAsync("bob"), ["device"] = "d1",
            ["groups"] = new Dictionary<string, long> { [gid] = 0 },
        });
        await bob.ExpectAsync("welcome");
        // Every hello page precedes the pong (docs/protocol.md §10.3).
        await bob.SendAsync(new { t = "ping" });
        var paged = new List<JsonElement>();
        for (var frame = await bob.ReceiveAsync(); frame.GetProperty("t").GetString() != "pong"; frame = await bob.ReceiveAsync())
            if (frame.GetProperty("t").GetString() == "msg" && frame.GetProperty("type").GetInt32() >= 0) paged.Add(frame);

        Assert.InRange(paged.Sum(m => m.GetRawText().Length), 1, 65536);
        Assert.InRange(paged.Count, 1, 19);
        var after = paged[^1].GetProperty("cseq").GetInt64();
        await bob.SendAsync(new { t = "gsync", group = gid, after, limit = 100 });
        var rest = (await bob.ExpectAsync("gsync")).GetProperty("items").EnumerateArray().Where(m => m.GetProperty("type").GetInt32() >= 0).ToList();
        Assert.Equal(20, paged.Count + rest.Count);
    }

    private static Task WaitForGroupMessagesAsync(GatewayServer server, string gid, int messages)
    {
        var timeline = server.Services.GetRequiredService<AspireChat.Messaging.Groups.GroupTimeline>();
        // The group's head counts its membership events too: wait for the messages themselves.
        return Wait.UntilAsync(async () => (await timeline.ReadAfterAsync(gid, "alice", 0, 500, CancellationToken.None))?.Items.Count(m => m.Type >= 0) >= messages,
            $"group {gid} holds {messages} messages");
    }
}
