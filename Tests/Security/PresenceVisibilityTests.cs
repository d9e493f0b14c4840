using System.Net;
using System.Net.Http.Json;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Push;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Security;

/// <summary>Presence is answered only about users who share a conversation with the asker, and never names devices (DESIGN §3c).</summary>
public sealed class PresenceVisibilityTests
{
    [Fact]
    public async Task Presence_answers_about_group_peers_and_one_to_one_peers_and_omits_strangers()
    {
        await using var server = await GatewayServer.StartAsync();
        await server.CreateGroupAsync("carol", "alice");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "dave", "hi dave");
        await alice.ExpectAsync("ack");
        var index = server.Services.GetRequiredService<IConversationIndex>();
        await Eventually.UntilAsync(async () => (await index.GetConversationAsync("alice", "s:alice:dave")).LastCseq > 0, "alice's index has her conversation with dave");
        await using var strangerPhone = await server.ConnectAsync("mallory", "phone");
        await using var carolPhone = await server.ConnectAsync("carol", "phone");
        await using var carolLaptop = await server.ConnectAsync("carol", "laptop");

        // Presence is recorded just after a device's welcome: wait until both of carol's devices are there.
        var presence = server.Services.GetRequiredService<AspireChat.Messaging.Presence.IPresenceStore>();
        await Eventually.UntilAsync(async () => (await presence.GetDevicesAsync("carol")).Count == 2, "both of carol's devices are online");
        var answer = await PresenceAsync(server, "alice", "mallory", "carol", "dave", "alice", "erin");

        Assert.Equal(["carol", "dave", "alice"], answer.Select(p => p.User));
        var carol = answer[0];
        Assert.True(carol.Online);
        Assert.Equal(2, carol.Devices);
    }

    [Fact]
    public async Task Devices_is_a_count_not_names()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var phone = await server.ConnectAsync("alice", "alice's secret phone");
        using var response = await server.RequestAsync("alice", HttpMethod.Get, "/api/presence?users=alice");
        var json = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"devices\":1", json, StringComparison.Ordinal);
        Assert.DoesNotContain("secret phone", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_who_left_the_only_shared_group_is_no_longer_answered()
    {
        await using var server = await GatewayServer.StartAsync();
        var gid = await server.CreateGroupAsync("carol", "alice");
        Assert.Single(await PresenceAsync(server, "alice", "carol"));

        using (var left = await server.RequestAsync("alice", HttpMethod.Delete, $"/api/groups/{gid}/members/alice"))
            Assert.True(left.IsSuccessStatusCode, left.StatusCode.ToString());
        Assert.Empty(await PresenceAsync(server, "alice", "carol"));
    }

    private static async Task<List<PresenceInfo>> PresenceAsync(GatewayServer server, string asker, params string[] users)
    {
        using var response = await server.RequestAsync(asker, HttpMethod.Get, $"/api/presence?users={string.Join(',', users)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ListPresenceInfo))!;
    }
}
