using System.Net;
using System.Text;
using AspireChat.Messaging.Push;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// The token's sub is a user id on every endpoint, HTTP as on the WebSocket, and storage keys cannot collide whatever an
/// id contains (DESIGN §3c).
/// </summary>
public sealed class IdentityTests
{
    public static TheoryData<string> BadSubs => new() { "alice\0phone", "alice/phone", "a b", ".", "..", new string('a', 65) };

    private static readonly string[] Endpoints = ["/api/push/subscriptions", "/api/presence?users=alice", "/api/conversations"];

    [Theory]
    [MemberData(nameof(BadSubs))]
    public async Task Http_refuses_a_token_whose_sub_is_not_a_user_id(string sub)
    {
        await using var server = await GatewayServer.StartAsync();
        foreach (var endpoint in Endpoints)
        {
            using var response = await GetAsync(server, endpoint, HandMadeTokens.Mint(sub, TimeSpan.FromHours(1)));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(BadSubs))]
    public async Task WebSocket_refuses_a_token_whose_sub_is_not_a_user_id(string sub)
    {
        await using var server = await GatewayServer.StartAsync();
        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        await socket.SendAsync(new { t = "hello", token = HandMadeTokens.Mint(sub, TimeSpan.FromHours(1)), device = "d1" });
        Assert.Equal(CloseCodes.Unauthorized, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task Http_accepts_a_token_whose_sub_is_a_user_id()
    {
        await using var server = await GatewayServer.StartAsync();
        foreach (var endpoint in Endpoints)
        {
            using var response = await GetAsync(server, endpoint, HandMadeTokens.Mint("alice", TimeSpan.FromHours(1)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task A_sub_with_a_nul_cannot_reach_the_push_subscriptions_of_the_user_before_it()
    {
        await using var server = await GatewayServer.StartAsync();
        using (var created = await server.RequestAsync("alice", HttpMethod.Post, "/api/push/subscriptions", new
        {
            device = "phone", kind = "webpush", endpoint = "https://fcm.googleapis.com/fcm/send/alice",
            keys = new { p256dh = PushEndpointTests.GoodP256dh, auth = PushEndpointTests.GoodAuth },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        var mallory = HandMadeTokens.Mint("alice\0phone", TimeSpan.FromHours(1));
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/push/subscriptions?device=phone");
        request.Headers.Authorization = new("Bearer", mallory);
        using var deleted = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, deleted.StatusCode);
        using var list = await server.RequestAsync("alice", HttpMethod.Get, "/api/push/subscriptions");
        Assert.Contains("fcm.googleapis.com", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void Key_builder_keeps_tuples_apart_whatever_their_strings_contain()
    {
        var pairs = new (string, string)[] { ("a\0b", "c"), ("a", "b\0c"), ("a\u0001", "b"), ("a", "\u0001b"), ("a\0", "b"), ("a", "\0b"), ("a", "b") };
        var keys = pairs.Select(p => Convert.ToHexString(new KeyBuilder((byte)'Q').Text(p.Item1).Text(p.Item2).ToArray())).ToList();
        Assert.Equal(pairs.Length, keys.Distinct().Count());

        // No user's prefix is the prefix of another user's keys.
        var alice = new KeyBuilder((byte)'Q').Text("alice").ToArray();
        var nulAlice = new KeyBuilder((byte)'Q').Text("alice\0phone").Text("d").ToArray();
        Assert.False(nulAlice.AsSpan().StartsWith(alice));

        foreach (var (first, second) in pairs)
        {
            var key = new KeyBuilder((byte)'Q').Text(first).Text(second).ToArray();
            Assert.Equal((first, second), (KeyBuilder.TextAt(key, 0), KeyBuilder.TextAt(key, 1)));
        }
    }

    [Fact]
    public void Key_builder_writes_plain_ids_as_it_always_did()
    {
        // Data written before escaping existed stays readable: an id without 0x00 and 0x01 is its UTF-8 bytes and a 0.
        Assert.Equal([(byte)'Q', .. "alice"u8, 0, .. "phone"u8, 0], new KeyBuilder((byte)'Q').Text("alice").Text("phone").ToArray());
    }

    [Fact]
    public async Task A_store_keeps_the_records_of_colliding_looking_ids_apart()
    {
        using var database = new RocksDbDatabase(Path.Combine(TempDirectory.Create(), "store"));
        var store = new RocksDbPushSubscriptionStore(database);
        await store.SaveAsync(new PushSubscription("a\0b", "c", PushKinds.Webhook, "https://x/1", null, null, 1));
        await store.SaveAsync(new PushSubscription("a", "b\0c", PushKinds.Webhook, "https://x/2", null, null, 2));
        await store.SaveAsync(new PushSubscription("alice", "phone", PushKinds.Webhook, "https://x/3", null, null, 3));

        Assert.Equal("https://x/1", Assert.Single(await store.GetAsync("a\0b")).Endpoint);
        Assert.Equal("https://x/2", Assert.Single(await store.GetAsync("a")).Endpoint);
        Assert.Equal(0, await store.RemoveAsync("alice\0phone", null, null));
        Assert.Single(await store.GetAsync("alice"));
    }

    private static async Task<HttpResponseMessage> GetAsync(GatewayServer server, string url, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new("Bearer", token);
        return await server.Http.SendAsync(request);
    }
}
