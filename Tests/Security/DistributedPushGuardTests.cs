using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using AspireChat.Protocol;
using AspireChat.Tests.Push;
using AspireChat.Tests.Topology;

namespace AspireChat.Tests.Security;

/// <summary>The distributed composition: the PushService's connections go through the same guard as the embedded gateway's.</summary>
[Collection(TopologyCollection.Name)]
public sealed class DistributedPushGuardTests
{
    [Fact]
    public async Task The_push_service_does_not_connect_to_a_loopback_webhook()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptTcpClientAsync();
        await using var topology = await ChatTopology.StartAsync(pushService: true, settings: new Dictionary<string, string>
        {
            // An operator's mistake or a hostile DNS answer alike: the business server's URL on the server's own loopback.
            ["Push__Webhook__Url"] = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/notify",
            ["Push__Webhook__Secret"] = WebhookTests.Secret,
            ["Push__CollapseWindow"] = "00:00:00.200",
            ["Push__MinInterval"] = "00:00:00",
            ["Push__MaxRetries"] = "0",
            ["Push__AttemptTimeout"] = "00:00:01",
            // One failed attempt removes the subscription: its disappearance is the event that follows the attempt.
            ["Push__MaxFailures"] = "1",
        });
        var (alice, bob) = ($"alice{Guid.NewGuid():n}"[..20], $"bob{Guid.NewGuid():n}"[..20]);
        using var http = new HttpClient { BaseAddress = topology.Gateways[0].Address };
        var token = await ChatTopology.TokenAsync(topology.Gateways[0], bob);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/push/subscriptions") { Content = JsonContent.Create(new { device = "phone", kind = "webhook" }) })
        {
            request.Headers.Authorization = new("Bearer", token);
            using var created = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await using var a = await ChatTopology.ConnectAsync(topology.Gateways[0], alice);
        await a.SendChatAsync(1, bob, "are you there?");
        await a.ExpectAsync("ack");

        await Eventually.UntilAsync(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/push/subscriptions");
            request.Headers.Authorization = new("Bearer", token);
            using var list = await http.SendAsync(request);
            return (await list.Content.ReadFromJsonAsync(ProtocolJson.Default.ListPushSubscriptionInfo))!.Count == 0;
        }, "the failing subscription is removed after its attempt", TimeSpan.FromSeconds(60));
        Assert.False(accepted.IsCompleted, "the push service connected to a loopback address");
        listener.Stop();
    }
}
