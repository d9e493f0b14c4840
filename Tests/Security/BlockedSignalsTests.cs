using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Gateway;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// DESIGN.md §3c: the blocker sees nothing of the blocked user's typing, receipts or presence. Absence is proven by a
/// later frame that would have come after the one withheld, while a member who does not block gets it.
/// </summary>
public sealed class BlockedSignalsTests
{
    [Fact]
    public async Task The_blocker_gets_no_typing_from_the_blocked_user_while_other_members_do()
    {
        await using var server = await GatewayServer.StartAsync();
        var gid = await server.CreateGroupAsync("carol", "bob", "mallory");
        await ConsentRequests.BlockAsync(server, "bob", "mallory");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await using var mallory = await server.ConnectAsync("mallory");
        await server.WaitForInboxHeadAsync("bob", 1);

        await mallory.SendAsync(new { t = "typing", conv = $"g:{gid}" });
        Assert.Equal("mallory", (await carol.ExpectAsync("typing")).GetProperty("user").GetString());
        // Typing is relayed before the connection reads its next frame, so mallory's message comes after any typing to bob.
        await mallory.SendChatAsync(1, gid, "hello all", ope: 1);
        var seen = await FramesUntilAsync(bob, f => f.GetProperty("t").GetString() == "msg" && f.GetProperty("from").GetString() == "mallory");
        Assert.DoesNotContain(seen, f => f.GetProperty("t").GetString() == "typing");
    }

    [Fact]
    public async Task The_blocker_gets_no_read_receipt_from_the_blocked_user_while_other_members_do()
    {
        await using var server = await GatewayServer.StartAsync();
        var gid = await server.CreateGroupAsync("bob", "carol", "mallory");
        await ConsentRequests.BlockAsync(server, "bob", "mallory");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        await using var mallory = await server.ConnectAsync("mallory");
        await bob.SendChatAsync(1, gid, "read this", ope: 1);
        var cseq = (await bob.ExpectAsync("ack")).GetProperty("cseq").GetInt64();

        await mallory.SendAsync(new { t = "read", conv = $"g:{gid}", cseq });
        var fromMallory = await carol.ExpectAsync("receipt");
        Assert.Equal(("mallory", cseq), (fromMallory.GetProperty("user").GetString(), fromMallory.GetProperty("read").GetInt64()));
        // Carol reads only after mallory's receipt went out, so hers reaches bob after any receipt of mallory's would have.
        await carol.SendAsync(new { t = "read", conv = $"g:{gid}", cseq });
        var seen = await FramesUntilAsync(bob, f => f.GetProperty("t").GetString() == "receipt" && f.GetProperty("user").GetString() == "carol");
        Assert.DoesNotContain(seen, f => f.GetProperty("t").GetString() == "receipt" && f.GetProperty("user").GetString() == "mallory");

        using var receipts = await server.RequestAsync("bob", HttpMethod.Get, $"/api/conversations/g:{gid}/receipts");
        var page = (await receipts.Content.ReadFromJsonAsync(ProtocolJson.Default.ReceiptsPage))!;
        Assert.Equal(["carol"], page.Items.Select(i => i.User));
    }

    [Fact]
    public async Task The_blocker_is_told_nothing_of_the_blocked_users_presence()
    {
        await using var server = await GatewayServer.StartAsync();
        // They share a group, so presence would otherwise be visible to each of them.
        await server.CreateGroupAsync("carol", "bob", "mallory");
        await using var mallory = await server.ConnectAsync("mallory");
        await using var carol = await server.ConnectAsync("carol");
        await using var bob = await server.ConnectAsync("bob");
        await ConsentRequests.BlockAsync(server, "bob", "mallory");

        Assert.Equal(["carol"], (await PresenceAsync(server, "bob", "mallory,carol")).Select(p => p.User));
        Assert.Empty(await PresenceAsync(server, "bob", "mallory"));
        // The block is one-way: mallory still sees bob, and carol sees mallory.
        Assert.True((await PresenceAsync(server, "mallory", "bob")).Single().Online);
        Assert.True((await PresenceAsync(server, "carol", "mallory")).Single().Online);
    }

    private static async Task<List<PresenceInfo>> PresenceAsync(GatewayServer server, string asker, string users)
    {
        using var response = await server.RequestAsync(asker, HttpMethod.Get, $"/api/presence?users={users}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ListPresenceInfo))!;
    }

    [Fact]
    public async Task The_block_list_is_listed_limited_and_checked()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Consent:MaxBlocksPerUser"] = "2" });
        await ConsentRequests.BlockAsync(server, "bob", "mallory");
        await ConsentRequests.BlockAsync(server, "bob", "mallory");   // again: no change
        await ConsentRequests.BlockAsync(server, "bob", "eve");

        using (var third = await server.RequestAsync("bob", HttpMethod.Post, "/api/blocks", new { user = "trent" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, third.StatusCode);
            Assert.Contains("at most 2", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        foreach (var bad in new object[] { new { user = "bob" }, new { user = "no spaces" }, new { user = new string('x', 65) }, new { } })
        {
            using var refused = await server.RequestAsync("bob", HttpMethod.Post, "/api/blocks", bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
        using (var list = await server.RequestAsync("bob", HttpMethod.Get, "/api/blocks"))
        {
            var page = (await list.Content.ReadFromJsonAsync(ProtocolJson.Default.BlocksPage))!;
            Assert.Equal(["eve", "mallory"], page.Items.Select(i => i.User));
            Assert.All(page.Items, i => Assert.True(i.Since > 0));
        }
        await ConsentRequests.UnblockAsync(server, "bob", "eve");
        using (var again = await server.RequestAsync("bob", HttpMethod.Delete, "/api/blocks/eve"))
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using (var invalid = await server.RequestAsync("bob", HttpMethod.Delete, "/api/blocks/no%20spaces"))
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using (var anonymous = await server.Http.GetAsync(new Uri("/api/blocks", UriKind.Relative)))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        await ConsentRequests.BlockAsync(server, "bob", "trent");
    }

    // Frames on `socket` up to and including the first that `last` matches.
    private static async Task<List<JsonElement>> FramesUntilAsync(TestSocket socket, Func<JsonElement, bool> last)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            var frame = await socket.ReceiveAsync();
            frames.Add(frame);
            if (last(frame)) return frames;
        }
    }
}
