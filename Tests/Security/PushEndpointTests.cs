using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using AspireChat.Messaging.Push;
using AspireChat.Tests.Push;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Security;

/// <summary>
/// Push endpoints cannot be turned against the server's own network (server-side request forgery, DESIGN §3c): refused at
/// registration by name, and refused at connection by address, whatever DNS answers.
/// </summary>
public sealed class PushEndpointTests
{
    // The user agent's key pair and auth secret of RFC 8291's example.
    internal const string GoodP256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    internal const string GoodAuth = "BTBZMqHH6r4Tts7J_aSIgg";

    [Theory]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://localhost:8080/push")]
    [InlineData("https://127.0.0.1:8080/push")]
    [InlineData("https://[::1]:8080/push")]
    [InlineData("https://2130706433:8080/push")]
    [InlineData("http://fcm.googleapis.com/fcm/send/x")]
    [InlineData("https://fcm.googleapis.com.attacker.test/fcm/send/x")]
    [InlineData("https://attackernotify.windows.com/w/x")]
    [InlineData("https://user:pass@fcm.googleapis.com/fcm/send/x")]
    public async Task Webpush_endpoint_off_the_known_push_services_is_refused_at_registration(string endpoint)
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await SubscribeWebPushAsync(server, "bob", "browser", endpoint);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await server.Services.GetRequiredService<IPushSubscriptionStore>().GetAsync("bob"));
    }

    [Theory]
    [InlineData("https://fcm.googleapis.com/fcm/send/x")]
    [InlineData("https://updates.push.services.mozilla.com/wpush/v2/x")]
    [InlineData("https://wns2-par02p.notify.windows.com/w/?token=x")]
    [InlineData("https://web.push.apple.com/x")]
    public async Task Webpush_endpoint_on_a_known_push_service_is_accepted(string endpoint)
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await SubscribeWebPushAsync(server, "bob", "browser", endpoint);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("https://business.test/hooks/chat", true)]
    [InlineData("https://business.test/hooks/chat/phone", true)]
    [InlineData("https://business.test/hooks/chatty", false)]
    [InlineData("https://business.test/hooks/chat/../../admin", false)]
    [InlineData("https://business.test/hooks/chat/%2e%2e/admin", false)]
    [InlineData("https://business.test/admin", false)]
    [InlineData("https://business.test:8443/hooks/chat", false)]
    [InlineData("https://evil.test/hooks/chat", false)]
    [InlineData("https://user@business.test/hooks/chat", false)]
    public async Task Webhook_endpoint_must_be_a_path_under_the_configured_url(string endpoint, bool accepted)
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Push:Webhook:Url"] = "https://business.test/hooks/chat",
            ["Push:Webhook:Secret"] = WebhookTests.Secret,
        });
        using var response = await server.RequestAsync("bob", HttpMethod.Post, "/api/push/subscriptions", new { device = "phone", kind = "webhook", endpoint });
        Assert.Equal(accepted ? HttpStatusCode.Created : HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task No_push_connection_reaches_an_internal_address_whatever_the_host_resolves_to()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var connections = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var accepted = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref connections);
            }
        });
        var hostile = new[]
        {
            $"https://127.0.0.1:{port}/push", $"https://localhost:{port}/push", $"https://[::1]:{port}/push",
            $"https://2130706433:{port}/push", $"https://[::ffff:127.0.0.1]:{port}/push", $"https://push.hostile.test:{port}/push",
            "https://169.254.169.254/latest/meta-data/",
        };
        var logs = new CapturedLogs();
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            // The name check is opened for these hosts, so that only the connection guard stands between them and the listener.
            ["Push:WebPush:AllowedHosts:0"] = "127.0.0.1",
            ["Push:WebPush:AllowedHosts:1"] = "localhost",
            ["Push:WebPush:AllowedHosts:2"] = "[::1]",
            ["Push:WebPush:AllowedHosts:3"] = "2130706433",
            ["Push:WebPush:AllowedHosts:4"] = "::1",
            ["Push:WebPush:AllowedHosts:5"] = "[::ffff:127.0.0.1]",
            ["Push:WebPush:AllowedHosts:8"] = "::ffff:127.0.0.1",
            ["Push:WebPush:AllowedHosts:6"] = "push.hostile.test",
            ["Push:WebPush:AllowedHosts:7"] = "169.254.169.254",
            ["Push:CollapseWindow"] = "00:00:00.100",
            ["Push:MinInterval"] = "00:00:00",
            ["Push:RetryDelay"] = "00:00:00.010",
            ["Logging:LogLevel:AspireChat.Messaging.Push"] = "Information",
        }, configure: builder =>
        {
            // A hostile DNS answer: a public-looking name that resolves to loopback.
            builder.Services.AddSingleton<PushHostResolver>((host, _) => Task.FromResult(host == "push.hostile.test"
                ? new[] { IPAddress.Loopback, IPAddress.IPv6Loopback }
                : Dns.GetHostAddresses(host)));
            builder.Logging.AddProvider(logs);
        });
        for (var i = 0; i < hostile.Length; i++)
        {
            using var response = await SubscribeWebPushAsync(server, "bob", $"browser{i}", hostile[i]);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "hello");
        await alice.ExpectAsync("ack");

        // Each attempt is recorded after its connection was tried: once all are, any connection would have been seen.
        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        await Eventually.UntilAsync(async () => (await store.GetAsync("bob")).All(s => s.LastAttempt is not null), "every subscription has an attempt");
        Assert.All(await store.GetAsync("bob"), s => Assert.Equal(PushOutcome.Failed, s.LastAttempt!.Outcome));
        Assert.Equal(0, Volatile.Read(ref connections));

        // One line per failed attempt, and no stack trace from the HTTP client or the retry pipeline.
        Assert.Equal(hostile.Length, logs.Entries.Count(e => e.Category == typeof(PushDispatcher).FullName));
        Assert.DoesNotContain(logs.Entries, e => e.Exception is not null
            && (e.Category.StartsWith("System.Net.Http", StringComparison.Ordinal) || e.Category.StartsWith("Polly", StringComparison.Ordinal)
                || e.Category.StartsWith("AspireChat.Messaging.Push", StringComparison.Ordinal)));
        listener.Stop();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_webhook_to_a_loopback_business_server_is_refused_unless_private_addresses_are_allowed(bool allowPrivate)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptTcpClientAsync();
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Push:Webhook:Url"] = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/notify",
            ["Push:Webhook:Secret"] = WebhookTests.Secret,
            ["Push:CollapseWindow"] = "00:00:00.100",
            ["Push:MinInterval"] = "00:00:00",
            ["Push:MaxRetries"] = "0",
            ["Push:AttemptTimeout"] = "00:00:01",
            ["Push:AllowPrivateAddresses"] = allowPrivate ? "true" : "false",
        });
        using (var subscribed = await server.RequestAsync("bob", HttpMethod.Post, "/api/push/subscriptions", new { device = "phone", kind = "webhook" }))
            Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);

        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "hello");
        await alice.ExpectAsync("ack");

        // The listener never answers: an allowed connection ends in the attempt timeout, a refused one at once; either way
        // the attempt is recorded after the connection was (or was not) made.
        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        await Eventually.UntilAsync(async () => (await store.GetAsync("bob")).All(s => s.LastAttempt is not null), "the attempt is recorded");
        Assert.Equal(allowPrivate, accepted.IsCompleted);
        listener.Stop();
    }

    [Fact]
    public void Connection_guard_refuses_every_internal_address_and_passes_public_ones()
    {
        foreach (var address in new[]
        {
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
            "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:7f00:1::1", "::127.0.0.1",
        })
        {
            Assert.False(PushConnectGuard.IsPublic(IPAddress.Parse(address)), address);
        }
        foreach (var address in new[] { "142.250.74.74", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::200e", "::ffff:142.250.74.74" })
            Assert.True(PushConnectGuard.IsPublic(IPAddress.Parse(address)), address);
    }

    [Fact]
    public async Task Subscriptions_past_the_maximum_replace_the_oldest()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Push:MaxSubscriptionsPerUser"] = "3" });
        var store = server.Services.GetRequiredService<IPushSubscriptionStore>();
        for (var i = 1; i <= 3; i++)
            await store.SaveAsync(new PushSubscription("bob", $"old{i}", PushKinds.WebPush, $"https://fcm.googleapis.com/fcm/send/{i}", GoodP256dh, GoodAuth, i));

        using (var replaced = await SubscribeWebPushAsync(server, "bob", "old2", "https://fcm.googleapis.com/fcm/send/again"))
            Assert.Equal(HttpStatusCode.Created, replaced.StatusCode);
        Assert.Equal(["old1", "old2", "old3"], (await store.GetAsync("bob")).Select(s => s.Device).Order());

        using (var added = await SubscribeWebPushAsync(server, "bob", "new", "https://fcm.googleapis.com/fcm/send/new"))
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(["new", "old2", "old3"], (await store.GetAsync("bob")).Select(s => s.Device).Order());
    }

    [Fact]
    public async Task Subscription_that_fails_max_failures_times_in_a_row_is_removed_and_a_success_resets_the_count()
    {
        using var database = new Messaging.Storage.RocksDbDatabase(Path.Combine(TempDirectory.Create(), "store"));
        var store = new RocksDbPushSubscriptionStore(database);
        var provider = new ScriptedProvider();
        var dispatcher = new PushDispatcher(store, [provider], TimeProvider.System,
            Microsoft.Extensions.Options.Options.Create(new PushOptions { MaxFailures = 3 }), Microsoft.Extensions.Logging.Abstractions.NullLogger<PushDispatcher>.Instance);
        await store.SaveAsync(new PushSubscription("bob", "phone", PushKinds.Webhook, "https://business.test/hooks", null, null, 1));
        var notification = new PushNotification("bob", 1, new Messaging.PushRequested("bob", 1, 1, "s:alice:bob", "alice", 1));

        foreach (var outcome in new[] { PushOutcome.Failed, PushOutcome.Failed, PushOutcome.Delivered, PushOutcome.Failed, PushOutcome.Failed })
        {
            provider.Next = outcome;
            await dispatcher.DispatchAsync(notification);
        }
        Assert.Equal(2, Assert.Single(await store.GetAsync("bob")).LastAttempt!.Failures);

        provider.Next = PushOutcome.Failed;
        await dispatcher.DispatchAsync(notification);
        Assert.Empty(await store.GetAsync("bob"));
    }

    internal static async Task<HttpResponseMessage> SubscribeWebPushAsync(GatewayServer server, string user, string device, string endpoint) =>
        await server.RequestAsync(user, HttpMethod.Post, "/api/push/subscriptions",
            new { device, kind = "webpush", endpoint, keys = new { p256dh = GoodP256dh, auth = GoodAuth } });

    private sealed class ScriptedProvider : IPushProvider
    {
        public PushOutcome Next { get; set; }
        public string Kind => PushKinds.Webhook;
        public PushCheck Check(PushSubscription requested) => PushCheck.Accept(requested);
        public ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new PushResult(Next, Next == PushOutcome.Delivered ? 200 : 500));
    }

    /// <summary>Every log entry of the server, with its category and exception.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, Exception? Exception)> Entries { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(CapturedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs.Entries.Enqueue((category, logLevel, exception));
        }
    }
}
