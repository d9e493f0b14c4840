using System.Security.Cryptography;
using System.Text.Json;
using System.Web;
using AspireChat.Messaging;
using AspireChat.Messaging.Push;
using Microsoft.Extensions.Options;

namespace AspireChat.Tests.Push;

/// <summary>FCM (HTTP v1, service-account token) and APNs (token-based) against stand-ins on 127.0.0.1.</summary>
public sealed class ProviderTests
{
    private static readonly PushNotification Notification = new("bob", 3, new PushRequested("bob", 7, 123456789, "s:alice:bob", "alice", 1));

    [Fact]
    public async Task Fcm_gets_an_access_token_with_a_signed_assertion_then_sends_with_it()
    {
        using var serviceAccount = RSA.Create(2048);
        string? tokenUri = null;
        await using var google = await LocalEndpoint.StartAsync(request => request.Path switch
        {
            "/token" => (200, """{"access_token":"ya29.test-token","expires_in":3600,"token_type":"Bearer"}"""),
            "/v1/projects/chat-project/messages:send" when request.Header("Authorization") == "Bearer ya29.test-token" => (200, """{"name":"projects/chat-project/messages/1"}"""),
            _ => (401, null),
        });
        tokenUri = new Uri(google.Address, "/token").AbsoluteUri;
        var fcm = new FcmOptions
        {
            ProjectId = "chat-project", ClientEmail = "push@chat-project.iam.gserviceaccount.com",
            PrivateKey = serviceAccount.ExportPkcs8PrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal),
            Endpoint = google.Address.AbsoluteUri, TokenUri = tokenUri,
        };
        using var provider = new FcmProvider(new PlainClients(), Options.Create(new PushOptions { Fcm = fcm }), TimeProvider.System);
        var subscription = provider.Check(new PushSubscription("bob", "android", PushKinds.Fcm, "fcm-registration-token:APA91b", null, null, 0)).Accepted!;

        Assert.Equal(PushOutcome.Delivered, (await provider.SendAsync(subscription, Notification)).Outcome);

        var tokenRequest = await google.NextAsync();
        var form = HttpUtility.ParseQueryString(System.Text.Encoding.ASCII.GetString(tokenRequest.Body));
        Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", form["grant_type"]);
        var (_, claims) = Jwt.VerifyRs256(form["assertion"]!, serviceAccount);
        Assert.Equal(fcm.ClientEmail, claims.GetProperty("iss").GetString());
        Assert.Equal(FcmProvider.Scope, claims.GetProperty("scope").GetString());
        Assert.Equal(tokenUri, claims.GetProperty("aud").GetString());

        var send = await google.NextAsync();
        using var body = JsonDocument.Parse(send.Body);
        var message = body.RootElement.GetProperty("message");
        Assert.Equal("fcm-registration-token:APA91b", message.GetProperty("token").GetString());
        Assert.Equal("3", message.GetProperty("data").GetProperty("count").GetString());
        Assert.Equal("alice", message.GetProperty("data").GetProperty("from").GetString());

        // The token is reused, not fetched again for the second send.
        Assert.Equal(PushOutcome.Delivered, (await provider.SendAsync(subscription, Notification)).Outcome);
        Assert.Equal("/v1/projects/chat-project/messages:send", (await google.NextAsync()).Path);
    }

    [Fact]
    public async Task Fcm_unregistered_token_is_gone()
    {
        using var serviceAccount = RSA.Create(2048);
        await using var google = await LocalEndpoint.StartAsync(request => request.Path == "/token"
            ? (200, """{"access_token":"t","expires_in":3600}""")
            : (404, """{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}"""));
        var fcm = new FcmOptions
        {
            ProjectId = "p", ClientEmail = "e@p.iam.gserviceaccount.com", PrivateKey = serviceAccount.ExportPkcs8PrivateKeyPem(),
            Endpoint = google.Address.AbsoluteUri, TokenUri = new Uri(google.Address, "/token").AbsoluteUri,
        };
        using var provider = new FcmProvider(new PlainClients(), Options.Create(new PushOptions { Fcm = fcm }), TimeProvider.System);
        var result = await provider.SendAsync(new PushSubscription("bob", "android", PushKinds.Fcm, "stale", null, null, 0), Notification);
        Assert.Equal((PushOutcome.Gone, 404), (result.Outcome, result.Status));
    }

    [Fact]
    public async Task Apns_gets_a_provider_token_signed_with_the_p8_key_and_the_device_path()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var deviceToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await using var apple = await LocalEndpoint.StartAsync(request => request.Path.EndsWith("/gone", StringComparison.Ordinal) ? (410, """{"reason":"Unregistered"}""") : (200, null));
        var apns = new ApnsOptions { TeamId = "TEAM123456", KeyId = "KEY7654321", PrivateKey = key.ExportPkcs8PrivateKeyPem(), Topic = "chat.aspire.app", Endpoint = apple.Address.AbsoluteUri };
        using var provider = new ApnsProvider(new PlainClients(), Options.Create(new PushOptions { Apns = apns }), TimeProvider.System);

        Assert.Null(provider.Check(new PushSubscription("bob", "iphone", PushKinds.Apns, "not-hex", null, null, 0)).Accepted);
        var subscription = provider.Check(new PushSubscription("bob", "iphone", PushKinds.Apns, deviceToken.ToUpperInvariant(), null, null, 0)).Accepted!;
        Assert.Equal(PushOutcome.Delivered, (await provider.SendAsync(subscription, Notification)).Outcome);

        var request = await apple.NextAsync();
        Assert.Equal($"/3/device/{deviceToken}", request.Path);
        Assert.Equal("chat.aspire.app", request.Header("apns-topic"));
        Assert.Equal("alert", request.Header("apns-push-type"));
        var authorization = request.Header("Authorization");
        Assert.StartsWith("bearer ", authorization, StringComparison.Ordinal);
        var (header, claims) = Jwt.VerifyEs256(authorization["bearer ".Length..], key);
        Assert.Equal("KEY7654321", header.GetProperty("kid").GetString());
        Assert.Equal("TEAM123456", claims.GetProperty("iss").GetString());
        using var body = JsonDocument.Parse(request.Body);
        Assert.Contains("3 new messages", body.RootElement.GetProperty("aps").GetProperty("alert").GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Equal("s:alice:bob", body.RootElement.GetProperty("aps").GetProperty("thread-id").GetString());

        var gone = await provider.SendAsync(subscription with { Endpoint = "gone" }, Notification);
        Assert.Equal((PushOutcome.Gone, 410), (gone.Outcome, gone.Status));
    }

    /// <summary>Plain HTTP clients (no retry pipeline) for calling a provider directly.</summary>
    private sealed class PlainClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }
}
