using System.Net;
using System.Net.Http.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// Ids <c>.</c> and <c>..</c>: HTTP clients and servers remove such dot segments from a path, so
/// <c>DELETE /api/groups/{gid}/members/..</c> never reaches its route and such a member could never be removed. They are
/// therefore not user ids at all — refused as members, tokens and dev-token users — while other ids with dots stay valid.
/// </summary>
public sealed class DotIdTests
{
    [Theory]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("...", true)]
    [InlineData(".alice", true)]
    [InlineData("alice.smith", true)]
    public void Dot_segments_are_not_ids(string id, bool valid) => Assert.Equal(valid, Identifiers.IsValidId(id));

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public async Task A_dot_segment_cannot_become_a_group_member_or_get_a_dev_token(string id)
    {
        await using var server = await GatewayServer.StartAsync();
        using (var created = await server.RequestAsync("alice", HttpMethod.Post, "/api/groups", new { name = "dots", members = new[] { "bob", id } }))
            Assert.Equal(HttpStatusCode.BadRequest, created.StatusCode);

        var gid = await server.CreateGroupAsync("alice", "bob");
        using (var added = await server.RequestAsync("alice", HttpMethod.Post, $"/api/groups/{gid}/members", new { users = new[] { id } }))
            Assert.Equal(HttpStatusCode.BadRequest, added.StatusCode);

        using var token = await server.Http.PostAsJsonAsync("/api/dev/token", new { user = id });
        Assert.Equal(HttpStatusCode.BadRequest, token.StatusCode);
    }

    [Fact]
    public async Task A_member_whose_id_has_dots_can_be_removed()
    {
        await using var server = await GatewayServer.StartAsync();
        var gid = await server.CreateGroupAsync("alice", "...", "b.o.b");
        foreach (var member in new[] { "...", "b.o.b" })
        {
            using var removed = await server.RequestAsync("alice", HttpMethod.Delete, $"/api/groups/{gid}/members/{member}");
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
        using var group = await server.RequestAsync("alice", HttpMethod.Get, $"/api/groups/{gid}");
        var members = await group.Content.ReadAsStringAsync();
        Assert.DoesNotContain("b.o.b", members, StringComparison.Ordinal);
        Assert.DoesNotContain("\"...\"", members, StringComparison.Ordinal);
    }
}
