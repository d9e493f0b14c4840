using System.Net;
using System.Net.Http.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Push;

/// <summary>The subscription API: what is refused (with problem details), and whose subscriptions a user may touch.</summary>
public sealed class PushApiTests
{
    // The user agent's key pair and auth secret of RFC 8291's example.
    private const string GoodP256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private const string GoodAuth = "BTBZMqHH6r4Tts7J_aSIgg";

    public static TheoryData<string> MalformedSubscriptions => new()
    {
        $$$"""{"kind":"webpush","endpoint":"https://push.example/x","keys":{"p256dh":"{{{GoodP256dh}}}","auth":"{{{GoodAuth}}}"}}""",
        """{"device":"","kind":"webpush","endpoint":"https://push.example/x"}""",
        """{"device":"phone","kind":"carrier-pigeon","endpoint":"https://push.example/x"}""",
        """{"device":"phone","endpoint":"https://push.example/x"}""",
        $$$"""{"device":"phone","kind":"webpush","endpoint":"http://push.example/x","keys":{"p256dh":"{{{GoodP256dh}}}","auth":"{{{GoodAuth}}}"}}""",
        $$$"""{"device":"phone","kind":"webpush","endpoint":"not a url","keys":{"p256dh":"{{{GoodP256dh}}}","auth":"{{{GoodAuth}}}"}}""",
        """{"device":"phone","kind":"webpush","endpoint":"https://push.example/x"}""",
        $$$"""{"device":"phone","kind":"webpush","endpoint":"https://push.example/x","keys":{"p256dh":"not-a-key","auth":"{{{GoodAuth}}}"}}""",
        $$$"""{"device":"phone","kind":"webpush","endpoint":"https://push.example/x","keys":{"p256dh":"{{{GoodP256dh[..^1]}}}A","auth":"{{{GoodAuth}}}"}}""",
        $$$"""{"device":"phone","kind":"webpush","endpoint":"https://push.example/x","keys":{"p256dh":"{{{GoodP256dh}}}","auth":"c2hvcnQ"}}""",
        """{"device":"phone","kind":"fcm","endpoint":"registration-token"}""",
        """{"device":"phone","kind":"webhook"}""",
        """{"device":"phone","kind":"webpush","endpoint":42}""",
        """not json""",
    };

    [Theory]
    [MemberData(nameof(MalformedSubscriptions))]
    public async Task Malformed_subscription_is_400_problem_details_and_nothing_is_stored(string body)
    {
        await using var server = await GatewayServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/push/subscriptions")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", await server.TokenAsync("bob"));
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await ListAsync(server, "bob"));
    }

    [Fact]
    public async Task Subscribing_needs_a_token()
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await server.Http.PostAsJsonAsync("/api/push/subscriptions", new { device = "phone", kind = "webpush" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task One_user_cannot_delete_another_users_subscription()
    {
        await using var server = await GatewayServer.StartAsync();
        const string endpoint = "https://fcm.googleapis.com/fcm/send/alice-browser";
        using (var created = await server.RequestAsync("alice", HttpMethod.Post, "/api/push/subscriptions",
            new { device = "browser", kind = "webpush", endpoint, keys = new { p256dh = GoodP256dh, auth = GoodAuth } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        foreach (var query in new[] { $"endpoint={Uri.EscapeDataString(endpoint)}", "device=browser", $"device=browser&endpoint={Uri.EscapeDataString(endpoint)}" })
        {
            using var response = await server.RequestAsync("mallory", HttpMethod.Delete, $"/api/push/subscriptions?{query}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(endpoint, Assert.Single(await ListAsync(server, "alice")).Endpoint);

        using (var removed = await server.RequestAsync("alice", HttpMethod.Delete, $"/api/push/subscriptions?endpoint={Uri.EscapeDataString(endpoint)}"))
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Empty(await ListAsync(server, "alice"));
    }

    [Fact]
    public async Task Delete_without_device_or_endpoint_is_400()
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await server.RequestAsync("alice", HttpMethod.Delete, "/api/push/subscriptions");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_device_has_one_subscription_which_a_new_one_replaces()
    {
        await using var server = await GatewayServer.StartAsync();
        foreach (var endpoint in new[] { "https://fcm.googleapis.com/fcm/send/old", "https://fcm.googleapis.com/fcm/send/new" })
        {
            using var response = await server.RequestAsync("alice", HttpMethod.Post, "/api/push/subscriptions",
                new { device = "browser", kind = "webpush", endpoint, keys = new { p256dh = GoodP256dh, auth = GoodAuth } });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        var subscription = Assert.Single(await ListAsync(server, "alice"));
        Assert.Equal(("browser", "webpush", "https://fcm.googleapis.com/fcm/send/new"), (subscription.Device, subscription.Kind, subscription.Endpoint));
    }

    private static async Task<List<PushSubscriptionInfo>> ListAsync(GatewayServer server, string user)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, "/api/push/subscriptions");
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ListPushSubscriptionInfo))!;
    }
}
