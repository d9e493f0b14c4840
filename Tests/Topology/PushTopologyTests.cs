using System.Net;
using System.Net.Http.Json;
using AspireChat.Tests.Push;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>The PushService as the consumer of <c>chat.push</c>: what stage 2 requests in a DeliveryWorker, it sends.</summary>
[Collection(TopologyCollection.Name)]
public sealed class PushTopologyTests
{
    [Fact]
    public async Task A_message_to_a_user_with_no_device_online_reaches_the_business_webhook_through_the_push_service()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (204, null));
        await using var topology = await ChatTopology.StartAsync(pushService: true, settings: new Dictionary<string, string>
        {
            ["Push__Webhook__Url"] = new Uri(business.Address, "/notify").AbsoluteUri,
            ["Push__Webhook__Secret"] = WebhookTests.Secret,
            ["Push__CollapseWindow"] = "00:00:00.200",
            ["Push__MinInterval"] = "00:00:00",
            // The business server stand-in listens on loopback, which push connections otherwise refuse.
            ["Push__AllowPrivateAddresses"] = "true",
        });
        var (alice, bob) = ($"alice{Guid.NewGuid():n}"[..20], $"bob{Guid.NewGuid():n}"[..20]);

        // bob registers his device on one gateway and goes offline; the subscription is in the store every service shares.
        using (var http = new HttpClient { BaseAddress = topology.Gateways[1].Address })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/push/subscriptions") { Content = JsonContent.Create(new { device = "phone", kind = "webhook" }) };
            request.Headers.Authorization = new("Bearer", await ChatTopology.TokenAsync(topology.Gateways[1], bob));
            using var created = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await using var a = await ChatTopology.ConnectAsync(topology.Gateways[0], alice);
        await a.SendChatAsync(1, bob, "are you there?");
        await a.ExpectAsync("ack");

        var notification = await business.NextAsync(TimeSpan.FromSeconds(30));
        WebhookTests.AssertSigned(notification);
        Assert.Contains(bob, System.Text.Encoding.UTF8.GetString(notification.Body));
    }
}
