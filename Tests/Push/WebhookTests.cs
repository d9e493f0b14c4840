using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Push;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Push;

/// <summary>The signed webhook to the business server: signature, freshness, retries, and gone subscriptions.</summary>
public sealed class WebhookTests
{
    internal const string Secret = "webhook-secret-that-is-at-least-32-bytes-long";

    [Fact]
    public async Task Business_server_gets_a_body_it_can_verify_by_hmac_and_timestamp()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (204, null));
        await using var server = await StartServerAsync(business);
        await SubscribeAsync(server, "bob", "phone");

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "hello");
        await alice.ExpectAsync("ack");

        var request = await business.NextAsync();
        Assert.Equal("POST", request.Method);
        Assert.Equal("/notify", request.Path);
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        AssertSigned(request);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("bob", body.RootElement.GetProperty("user").GetString());
        Assert.Equal("phone", body.RootElement.GetProperty("device").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("count").GetInt32());
        Assert.Equal("alice", body.RootElement.GetProperty("from").GetString());

        // A receiver that checks the signature refuses a body that was tampered with.
        var tampered = request with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(request.Body).Replace("alice", "mallory", StringComparison.Ordinal)) };
        Assert.False(IsSigned(tampered));
    }

    [Fact]
    public async Task A_500_is_retried_with_the_same_delivery_id_and_then_delivered()
    {
        var calls = 0;
        await using var business = await LocalEndpoint.StartAsync(_ => (Interlocked.Increment(ref calls) == 1 ? 500 : 200, null));
        await using var server = await StartServerAsync(business);
        await SubscribeAsync(server, "bob", "phone");
        using var attempts = new AttemptCounter();

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "are you there?");
        await alice.ExpectAsync("ack");

        var first = await business.NextAsync();
        var retry = await business.NextAsync();
        AssertSigned(first);
        AssertSigned(retry);
        Assert.Equal(first.Header(WebhookProvider.DeliveryHeader), retry.Header(WebhookProvider.DeliveryHeader));
        Assert.True(await business.StaysQuietAsync(TimeSpan.FromMilliseconds(800)));

        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        await Eventually.UntilAsync(async () => (await store.GetAsync("bob")).Single().LastAttempt?.Outcome == PushOutcome.Delivered,
            "the attempt is recorded as delivered");
        await Eventually.UntilAsync(() => Task.FromResult(attempts.Count("webhook", "delivered") >= 1), "the delivered attempt is counted on the meter");
    }

    [Fact]
    public async Task A_410_removes_the_subscription()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (410, null));
        await using var server = await StartServerAsync(business);
        await SubscribeAsync(server, "bob", "phone");
        await SubscribeAsync(server, "bob", "tablet");

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "hello?");
        await alice.ExpectAsync("ack");
        await business.NextAsync();
        await business.NextAsync();

        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        await Eventually.UntilAsync(async () => (await store.GetAsync("bob")).Count == 0, "both gone subscriptions are removed");
        Assert.True(await business.StaysQuietAsync(TimeSpan.FromMilliseconds(500)), "a 410 is not retried");
    }

    internal static Task<GatewayServer> StartServerAsync(LocalEndpoint business, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Push:Webhook:Url"] = new Uri(business.Address, "/notify").AbsoluteUri,
            ["Push:Webhook:Secret"] = Secret,
            ["Push:CollapseWindow"] = "00:00:00.300",
            ["Push:MinInterval"] = "00:00:00",
            ["Push:RetryDelay"] = "00:00:00.050",
            // The business server stand-in listens on loopback, which push connections otherwise refuse.
            ["Push:AllowPrivateAddresses"] = "true",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>()) settings[key] = value;
        return GatewayServer.StartAsync(settings);
    }

    internal static async Task SubscribeAsync(GatewayServer server, string user, string device)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Post, "/api/push/subscriptions", new { device, kind = "webhook" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    internal static void AssertSigned(ReceivedRequest request) => Assert.True(IsSigned(request), "the webhook signature or timestamp does not check out");

    // What a business server does: recompute HMAC-SHA256 over "{timestamp}.{body}" and refuse stale timestamps.
    private static bool IsSigned(ReceivedRequest request)
    {
        var timestamp = request.Header(WebhookProvider.TimestampHeader);
        if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture)) > 300) return false;
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), (byte[])[.. Encoding.ASCII.GetBytes(timestamp + "."), .. request.Body]));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(request.Header(WebhookProvider.SignatureHeader)));
    }

    /// <summary>Counts <c>aspirechat.push.attempts</c> measurements by provider and outcome while it lives.</summary>
    private sealed class AttemptCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<(string, string), long> _counts = [];

        public AttemptCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument == ChatTelemetry.PushAttempts) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? provider = null, outcome = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "provider") provider = tag.Value as string;
                    if (tag.Key == "outcome") outcome = tag.Value as string;
                }
                lock (_counts) _counts[(provider ?? "", outcome ?? "")] = _counts.GetValueOrDefault((provider ?? "", outcome ?? "")) + value;
            });
            _listener.Start();
        }

        public long Count(string provider, string outcome)
        {
            lock (_counts) return _counts.GetValueOrDefault((provider, outcome));
        }

        public void Dispose() => _listener.Dispose();
    }
}
