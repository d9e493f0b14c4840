using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AspireChat.Messaging.Push;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Push;

/// <summary>Web Push end to end: a real encrypted, VAPID-signed request to a push service stand-in on 127.0.0.1.</summary>
public sealed class WebPushTests
{
    private const string Subject = "mailto:ops@aspirechat.test";

    [Fact]
    public async Task Offline_browser_gets_an_encrypted_notification_signed_with_the_vapid_key()
    {
        var (vapidPublic, vapidPrivate) = NewVapidPair();
        await using var pushService = await LocalEndpoint.StartAsync(_ => (201, null), https: true);
        await using var server = await StartServerAsync(pushService, vapidPublic, vapidPrivate);
        using var browser = new FakeBrowser();

        using (var vapid = await server.Http.GetAsync("/api/push/vapid"))
        {
            vapid.EnsureSuccessStatusCode();
            Assert.Equal(vapidPublic, (await vapid.Content.ReadFromJsonAsync(ProtocolJson.Default.VapidKeyResponse))!.PublicKey);
        }
        var endpoint = new Uri(pushService.Address, "/push/bob-browser").AbsoluteUri;
        using (var subscribed = await server.RequestAsync("bob", HttpMethod.Post, "/api/push/subscriptions",
            new { device = "browser", kind = "webpush", endpoint, keys = new { p256dh = browser.P256dh, auth = browser.Auth } }))
        {
            Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
        }

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "one");
        await alice.SendChatAsync(2, "bob", "two");
        await alice.ExpectManyAsync("ack", 2);

        var request = await pushService.NextAsync();
        Assert.Equal("POST", request.Method);
        Assert.Equal("/push/bob-browser", request.Path);
        Assert.Equal("aes128gcm", request.Header("Content-Encoding"));
        Assert.Equal("86400", request.Header("TTL"));
        Assert.Equal("aspirechat", request.Header("Topic"));

        // VAPID (RFC 8292): Authorization: vapid t=<ES256 JWT>, k=<public key>; the JWT verifies against that key.
        var authorization = request.Header("Authorization");
        Assert.StartsWith("vapid ", authorization, StringComparison.Ordinal);
        var parameters = authorization["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(vapidPublic, parameters["k"]);
        var (_, claims) = Jwt.VerifyEs256(parameters["t"], Base64Url.DecodeFromChars(vapidPublic));
        // The audience is the push service's origin. Lib.Net.Http.WebPush leaves the port out, which is the same
        // origin for real push services (all on 443); this stand-in listens on a random port.
        Assert.Equal($"https://{pushService.Address.Host}", claims.GetProperty("aud").GetString());
        Assert.Equal(Subject, claims.GetProperty("sub").GetString());
        var expires = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        Assert.InRange(expires, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(24));

        // RFC 8291: only the subscription's private key and auth secret open the payload.
        using var payload = JsonDocument.Parse(browser.Decrypt(request.Body));
        var root = payload.RootElement;
        Assert.Equal("bob", root.GetProperty("user").GetString());
        Assert.Equal("browser", root.GetProperty("device").GetString());
        Assert.Equal(2, root.GetProperty("count").GetInt32());
        Assert.Equal("alice", root.GetProperty("from").GetString());
        Assert.Equal("s:alice:bob", root.GetProperty("conv").GetString());
        Assert.Equal(2, root.GetProperty("seq").GetInt64());

        Assert.True(await pushService.StaysQuietAsync(TimeSpan.FromMilliseconds(1500)));
        var stored = await server.Services.GetRequiredService<IPushSubscriptionStore>().GetAsync("bob");
        Assert.Equal(PushOutcome.Delivered, Assert.Single(stored).LastAttempt?.Outcome);
    }

    [Theory]
    [InlineData(410)]
    [InlineData(404)]
    public async Task Subscription_the_push_service_reports_gone_is_removed(int status)
    {
        var (vapidPublic, vapidPrivate) = NewVapidPair();
        await using var pushService = await LocalEndpoint.StartAsync(_ => (status, null), https: true);
        await using var server = await StartServerAsync(pushService, vapidPublic, vapidPrivate);
        using var browser = new FakeBrowser();
        using (var subscribed = await server.RequestAsync("bob", HttpMethod.Post, "/api/push/subscriptions", new
        {
            device = "browser", kind = "webpush", endpoint = new Uri(pushService.Address, "/push/expired").AbsoluteUri,
            keys = new { p256dh = browser.P256dh, auth = browser.Auth },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
        }

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "anyone there?");
        await pushService.NextAsync();

        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        await Eventually.UntilAsync(async () => (await store.GetAsync("bob")).Count == 0, "the gone subscription is removed");
    }

    [Fact]
    public async Task Vapid_key_is_404_when_web_push_is_off()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Push:Vapid:KeyFile"] = "" });
        using var response = await server.Http.GetAsync("/api/push/vapid");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Without_configured_keys_a_pair_is_generated_once_and_kept_in_the_key_file()
    {
        var data = TempDirectory.Create();
        string first;
        await using (var server = await GatewayServer.StartAsync(dataDirectory: data))
        {
            first = (await server.Http.GetFromJsonAsync("/api/push/vapid", ProtocolJson.Default.VapidKeyResponse))!.PublicKey;
        }
        Assert.True(File.Exists(Path.Combine(data, "vapid.json")));
        await using var restarted = await GatewayServer.StartAsync(dataDirectory: data);
        Assert.Equal(first, (await restarted.Http.GetFromJsonAsync("/api/push/vapid", ProtocolJson.Default.VapidKeyResponse))!.PublicKey);
        Assert.Equal(65, Base64Url.DecodeFromChars(first).Length);
    }

    private static Task<GatewayServer> StartServerAsync(LocalEndpoint pushService, string vapidPublic, string vapidPrivate) =>
        GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Push:Vapid:PublicKey"] = vapidPublic,
            ["Push:Vapid:PrivateKey"] = vapidPrivate,
            ["Push:Vapid:Subject"] = Subject,
            ["Push:CollapseWindow"] = "00:00:01",
            ["Push:MinInterval"] = "00:00:00",
            ["Push:RetryDelay"] = "00:00:00.050",
            // The push service stand-in is on 127.0.0.1: allowed explicitly, as only a test may.
            ["Push:WebPush:AllowedHosts:0"] = pushService.Address.Host,
            ["Push:AllowPrivateAddresses"] = "true",
        }, configure: builder => pushService.Trust(builder, WebPushProvider.HttpClientName));

    // Generated here, independently of the server's own key code.
    private static (string PublicKey, string PrivateKey) NewVapidPair()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(true);
        return (Base64Url.EncodeToString([0x04, .. p.Q.X!, .. p.Q.Y!]), Base64Url.EncodeToString(p.D!));
    }
}
