using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Push;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>DESIGN.md §3c, mutes: a muted conversation sends its user no push notification, and the list says it is muted.</summary>
public sealed class MuteTests
{
    [Fact]
    public async Task A_muted_conversation_sends_no_push_while_another_one_still_does()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (204, null));
        await using var server = await WebhookTests.StartServerAsync(business, new Dictionary<string, string?> { ["Push:AllowPrivateAddresses"] = "true" });
        await WebhookTests.SubscribeAsync(server, "bob", "phone");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "before the mute");
        await alice.ExpectAsync("ack");
        using (var before = JsonDocument.Parse((await business.NextAsync()).Body))
            Assert.Equal("alice", before.RootElement.GetProperty("from").GetString());
        await ConsentRequests.MuteAsync(server, "bob", "s:alice:bob", muted: true);

        await alice.SendChatAsync(2, "bob", "you muted me");
        await alice.ExpectAsync("ack");
        await using var carol = await server.ConnectAsync("carol");
        await carol.SendChatAsync(1, "bob", "not muted");
        await carol.ExpectAsync("ack");

        // Alice's request came first on chat.push: had it counted, the first notification would be hers or count two.
        var first = await business.NextAsync();
        using var body = JsonDocument.Parse(first.Body);
        Assert.Equal(("carol", 1), (body.RootElement.GetProperty("from").GetString(), body.RootElement.GetProperty("count").GetInt32()));

        await ConsentRequests.MuteAsync(server, "bob", "s:alice:bob", muted: false);
        await alice.SendChatAsync(3, "bob", "unmuted now");
        await alice.ExpectAsync("ack");
        using var next = JsonDocument.Parse((await business.NextAsync()).Body);
        Assert.Equal("alice", next.RootElement.GetProperty("from").GetString());
    }

    [Fact]
    public async Task A_message_that_mentions_the_user_notifies_even_in_a_muted_conversation_and_says_so()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (204, null));
        await using var server = await WebhookTests.StartServerAsync(business, new Dictionary<string, string?> { ["Push:AllowPrivateAddresses"] = "true" });
        await WebhookTests.SubscribeAsync(server, "bob", "phone");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "hello");
        await alice.ExpectAsync("ack");
        using (var plain = JsonDocument.Parse((await business.NextAsync()).Body))
            Assert.False(plain.RootElement.TryGetProperty("mention", out _));
        await ConsentRequests.MuteAsync(server, "bob", "s:alice:bob", muted: true);

        await alice.SendAsync(new { t = "send", req = 2, ope = 0, to = "bob", type = 1, body = new { text = "muted, not mentioned" } });
        await alice.SendAsync(new { t = "send", req = 3, ope = 0, to = "bob", type = 1, body = new { text = "@bob look" }, mentions = new[] { "bob" } });
        await alice.ExpectManyAsync("ack", 2);

        // Only the mention got through the mute: one message counted, flagged as a mention.
        using var body = JsonDocument.Parse((await business.NextAsync()).Body);
        Assert.Equal((1, true), (body.RootElement.GetProperty("count").GetInt32(), body.RootElement.GetProperty("mention").GetBoolean()));
    }

    [Fact]
    public async Task The_conversation_list_shows_muted_on_the_muted_item_only()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "one");
        await alice.SendChatAsync(2, "carol", "two");
        await alice.ExpectManyAsync("ack", 2);
        await ConsentRequests.MuteAsync(server, "alice", "s:alice:bob", muted: true);

        using var response = await server.RequestAsync("alice", HttpMethod.Get, "/api/conversations");
        var page = (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ConversationPage))!;
        Assert.Equal([("s:alice:bob", true), ("s:alice:carol", false)], page.Items.Select(i => (i.Conv, i.Muted)).OrderBy(i => i.Conv, StringComparer.Ordinal));
        // On the wire the field is absent unless true.
        using var raw = await server.RequestAsync("alice", HttpMethod.Get, "/api/conversations");
        var items = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(1, items.Count(i => i.TryGetProperty("muted", out var m) && m.GetBoolean()));
        Assert.Equal(1, items.Count(i => !i.TryGetProperty("muted", out _)));
        // Muting is the caller's own: bob's item of the same conversation is not muted.
        using var bobs = await server.RequestAsync("bob", HttpMethod.Get, "/api/conversations");
        Assert.False((await bobs.Content.ReadFromJsonAsync(ProtocolJson.Default.ConversationPage))!.Items.Single().Muted);
    }

    [Fact]
    public async Task Only_a_member_may_mute_a_conversation_and_a_bad_id_is_refused()
    {
        await using var server = await GatewayServer.StartAsync();
        var gid = await server.CreateGroupAsync("alice", "bob");

        using (var stranger = await server.RequestAsync("mallory", HttpMethod.Put, "/api/conversations/s:alice:bob/settings", new { muted = true }))
            Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
        using (var outsider = await server.RequestAsync("mallory", HttpMethod.Put, $"/api/conversations/g:{gid}/settings", new { muted = true }))
            Assert.Equal(HttpStatusCode.Forbidden, outsider.StatusCode);
        using (var missing = await server.RequestAsync("bob", HttpMethod.Put, "/api/conversations/g:424242/settings", new { muted = true }))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using (var bad = await server.RequestAsync("bob", HttpMethod.Put, "/api/conversations/nonsense/settings", new { muted = true }))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var member = await server.RequestAsync("bob", HttpMethod.Put, $"/api/conversations/g:{gid}/settings", new { muted = true });
        Assert.True((await member.Content.ReadFromJsonAsync(ProtocolJson.Default.ConversationSettings))!.Muted);
    }
}
