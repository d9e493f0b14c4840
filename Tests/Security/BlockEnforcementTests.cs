using System.Net;
using System.Net.Http.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// DESIGN.md §3c, blocks, in each composition of the stages (<see cref="EmbeddedBlockEnforcementTests"/>,
/// <see cref="DistributedBlockEnforcementTests"/>): the one-to-one send check is stage 0's, the group check GroupService's.
/// </summary>
public abstract class BlockEnforcementTests
{
    /// <summary>The settings that choose the composition.</summary>
    protected abstract IDictionary<string, string?> Composition { get; }

    private Task<GatewayServer> StartServerAsync() => GatewayServer.StartAsync(new Dictionary<string, string?>(Composition));

    [Fact]
    public async Task A_blocked_users_send_to_its_blocker_is_refused_forbidden_and_goes_through_once_unblocked()
    {
        await using var server = await StartServerAsync();
        await ConsentRequests.BlockAsync(server, "bob", "mallory");
        await using var mallory = await server.ConnectAsync("mallory");
        await using var bob = await server.ConnectAsync("bob");

        await mallory.SendChatAsync(1, "bob", "let me talk");
        var error = await mallory.ExpectAsync("error");
        Assert.Equal(("forbidden", 1L), (error.GetProperty("code").GetString(), error.GetProperty("req").GetInt64()));

        // The block is one-way: bob still reaches mallory.
        await bob.SendChatAsync(1, "mallory", "go away");
        await bob.ExpectAsync("ack");
        Assert.Equal("go away", (await MessageFromAsync(mallory, "bob")).GetProperty("body").GetProperty("text").GetString());

        await ConsentRequests.UnblockAsync(server, "bob", "mallory");
        await mallory.SendChatAsync(2, "bob", "sorry");
        await mallory.ExpectAsync("ack");
        Assert.Equal("sorry", (await MessageFromAsync(bob, "mallory")).GetProperty("body").GetProperty("text").GetString());
        // The refused send left nothing behind: the conversation holds bob's message and the one after the unblock.
        var history = await Gateway.OneToOneTests.HistoryAsync(server, "bob", "s:bob:mallory");
        Assert.Equal(["go away", "sorry"], history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("body").GetProperty("text").GetString()));
    }

    // The next msg from `from` (a sender's own devices get its messages too).
    private static async Task<System.Text.Json.JsonElement> MessageFromAsync(TestSocket socket, string from)
    {
        while (true)
        {
            var msg = await socket.ExpectAsync("msg");
            if (msg.GetProperty("from").GetString() == from) return msg;
        }
    }

    [Fact]
    public async Task A_blocked_user_cannot_put_its_blocker_into_a_group_by_creating_or_adding()
    {
        await using var server = await StartServerAsync();
        await ConsentRequests.BlockAsync(server, "bob", "mallory");

        using (var create = await server.RequestAsync("mallory", HttpMethod.Post, "/api/groups", new { name = "trap", members = new[] { "carol", "bob" } }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
            Assert.Equal("application/problem+json", create.Content.Headers.ContentType?.MediaType);
        }
        var gid = await server.CreateGroupAsync("mallory", "carol");
        using (var add = await server.RequestAsync("mallory", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "dave", "bob" } }))
            Assert.Equal(HttpStatusCode.Forbidden, add.StatusCode);
        using (var info = await server.RequestAsync("mallory", HttpMethod.Get, $"/api/groups/{gid}"))
        {
            var members = (await info.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("members");
            Assert.Equal(["carol", "mallory"], members.EnumerateArray().Select(m => m.GetProperty("user").GetString()).Order(StringComparer.Ordinal));
        }

        // Only the blocker is out of mallory's reach, and only mallory is out of bob's.
        using (var addDave = await server.RequestAsync("mallory", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { "dave" } }))
            Assert.Equal(HttpStatusCode.NoContent, addDave.StatusCode);
        Assert.False(string.IsNullOrEmpty(await server.CreateGroupAsync("carol", "bob")));
    }
}
