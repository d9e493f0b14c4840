using AspireChat.Messaging;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Push;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Push;

/// <summary>Collapse windows, the presence check when a window closes, and the per-user rate limit, on a fake clock.</summary>
public sealed class PushCollapserTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly RecordingProvider _provider = new();
    private RocksDbDatabase _database = null!;
    private string _directory = null!;
    private InMemoryPresenceStore _presence = null!;
    private PushCollapser _collapser = null!;

    public async Task InitializeAsync()
    {
        _directory = TempDirectory.Create();
        _database = new RocksDbDatabase(Path.Combine(_directory, "data"));
        var store = new RocksDbPushSubscriptionStore(_database);
        await store.InitializeAsync();
        foreach (var user in new[] { "bob", "carol" })
            await store.SaveAsync(new PushSubscription(user, "phone", PushKinds.Webhook, "http://127.0.0.1/notify", null, null, 0));
        _presence = new InMemoryPresenceStore(_time, Options.Create(new PresenceOptions()));
        var options = Options.Create(new PushOptions { CollapseWindow = TimeSpan.FromSeconds(2), MinInterval = TimeSpan.FromSeconds(10) });
        var dispatcher = new PushDispatcher(store, [_provider], _time, Microsoft.Extensions.Options.Options.Create(new PushOptions()), NullLogger<PushDispatcher>.Instance);
        var consent = new Messaging.Consent.RocksDbConsentStore(_database);
        await consent.InitializeAsync();
        _collapser = new PushCollapser(_presence, consent, dispatcher, options, _time, NullLogger<PushCollapser>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _collapser.DisposeAsync();
        _database.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_burst_within_the_window_becomes_one_notification_when_the_window_closes()
    {
        for (var seq = 1; seq <= 5; seq++) _collapser.Add(Request("bob", seq, from: seq == 5 ? "dave" : "alice"));

        await AdvanceAsync(TimeSpan.FromMilliseconds(1900));
        Assert.Empty(_provider.Sent);
        await AdvanceAsync(TimeSpan.FromMilliseconds(100));

        var notification = Assert.Single(_provider.Sent);
        Assert.Equal(("bob", 5, 5L, "dave"), (notification.User, notification.Count, notification.Latest.Seq, notification.Latest.From));
    }

    [Fact]
    public async Task A_user_online_when_the_window_closes_gets_nothing()
    {
        _collapser.Add(Request("carol", 1));
        await _presence.ConnectAsync("carol", "laptop", "node-a");
        await AdvanceAsync(TimeSpan.FromSeconds(2));

        Assert.Empty(_provider.Sent);
        Assert.Equal(0, _collapser.PendingUsers);
    }

    [Fact]
    public async Task Within_the_rate_limit_notifications_wait_and_keep_collapsing()
    {
        _collapser.Add(Request("bob", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.Single(_provider.Sent);

        // t = 2 s: a new window closes at 4 s, but the last notification was at 2 s: it waits until 12 s.
        _collapser.Add(Request("bob", 2));
        _collapser.Add(Request("bob", 3));
        await AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.Single(_provider.Sent);
        _collapser.Add(Request("bob", 4));
        await AdvanceAsync(TimeSpan.FromSeconds(7.9));
        Assert.Single(_provider.Sent);
        await AdvanceAsync(TimeSpan.FromSeconds(0.1));

        Assert.Equal(2, _provider.Sent.Count);
        Assert.Equal((3, 4L), (_provider.Sent[1].Count, _provider.Sent[1].Latest.Seq));
    }

    [Fact]
    public async Task Users_collapse_separately()
    {
        _collapser.Add(Request("bob", 1));
        _collapser.Add(Request("carol", 1));
        _collapser.Add(Request("bob", 2));
        await AdvanceAsync(TimeSpan.FromSeconds(2));

        Assert.Equal(new[] { ("bob", 2), ("carol", 1) }, _provider.Sent.Select(n => (n.User, n.Count)).Order());
    }

    private async Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        await _collapser.IdleAsync();
    }

    private static PushRequested Request(string user, long seq, string from = "alice") =>
        new(user, seq, 1000 + seq, $"s:{from}:{user}", from, seq);

    private sealed class RecordingProvider : IPushProvider
    {
        private readonly List<PushNotification> _sent = [];

        public List<PushNotification> Sent
        {
            get { lock (_sent) return [.. _sent]; }
        }

        public string Kind => PushKinds.Webhook;

        public PushCheck Check(PushSubscription requested) => PushCheck.Accept(requested);

        public ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default)
        {
            lock (_sent) _sent.Add(notification);
            return ValueTask.FromResult(new PushResult(PushOutcome.Delivered, 200));
        }
    }
}
