using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Presence;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// Stage 2's routing costs what a batch costs (issue 22): one presence read per user of the batch, and one hand-over per
/// device carrying that device's entries in seq order — not a read and a publish per entry.
/// </summary>
public sealed class InboxRouterTests
{
    [Fact]
    public async Task A_batch_reads_each_users_presence_once_and_hands_each_device_its_entries_in_one_ordered_handover()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var presence = new CountingPresence(new InMemoryPresenceStore(time, Options.Create(new PresenceOptions())));
        await presence.ConnectAsync("alice", "phone", "node-a");
        await presence.ConnectAsync("alice", "laptop", "node-b");
        await presence.ConnectAsync("bob", "phone", "node-a");
        var routes = new RecordingRouter();
        var router = new InboxRouter(null!, presence, null!, routes, Options.Create(new DeliveryOptions()), time);
        InboxEntry[] entries = [Entry("alice", 1), Entry("bob", 1), Entry("alice", 2), Entry("carol", 1), Entry("alice", 3), Entry("bob", 2)];

        var online = await router.RouteAsync(entries);

        Assert.Equal([true, true, true, false, true, true], online);
        Assert.Equal(new Dictionary<string, int> { ["alice"] = 1, ["bob"] = 1, ["carol"] = 1 }, presence.Reads.ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal(3, routes.Handovers.Count);
        Assert.Equal([1L, 2L, 3L], routes.Handovers.Single(h => h.Node == "node-a" && h.Device == "phone" && h.User == "alice").Seqs);
        Assert.Equal([1L, 2L, 3L], routes.Handovers.Single(h => h.Node == "node-b").Seqs);
        Assert.Equal([1L, 2L], routes.Handovers.Single(h => h.User == "bob").Seqs);
    }

    private static InboxEntry Entry(string user, long seq) =>
        new(user, seq, new ChatMessage(seq * 100 + user.Length, $"s:{user}:zz", seq, 0, "zz", user, 1, JsonDocument.Parse("{}").RootElement.Clone(), null, 1));

    private sealed class CountingPresence(IPresenceStore inner) : IPresenceStore
    {
        public ConcurrentDictionary<string, int> Reads { get; } = new();
        public ValueTask<bool> HeartbeatAsync(string node, CancellationToken cancellationToken = default) => inner.HeartbeatAsync(node, cancellationToken);
        public ValueTask ConnectAsync(string user, string device, string node, CancellationToken cancellationToken = default) => inner.ConnectAsync(user, device, node, cancellationToken);
        public ValueTask DisconnectAsync(string user, string device, string node, CancellationToken cancellationToken = default) => inner.DisconnectAsync(user, device, node, cancellationToken);
        public ValueTask<IReadOnlyList<UserPresence>> GetPresenceAsync(IReadOnlyList<string> users, CancellationToken cancellationToken = default) => inner.GetPresenceAsync(users, cancellationToken);

        public ValueTask<IReadOnlyList<DevicePresence>> GetDevicesAsync(string user, CancellationToken cancellationToken = default)
        {
            Reads.AddOrUpdate(user, 1, (_, n) => n + 1);
            return inner.GetDevicesAsync(user, cancellationToken);
        }
    }

    private sealed class RecordingRouter : IDeliveryRouter
    {
        public ConcurrentBag<(string Node, string User, string Device, long[] Seqs)> Handovers { get; } = [];
        public IDisposable Register(IDeviceSink sink) => throw new NotSupportedException();
        public ValueTask BroadcastAsync(GroupNotice notice, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public ValueTask<bool> SignalAsync(string node, DeviceSignal signal, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);

        public ValueTask<bool> RouteAsync(string node, string user, string device, IReadOnlyList<InboxEntry> entries, bool redelivery = false, CancellationToken cancellationToken = default)
        {
            Handovers.Add((node, user, device, [.. entries.Select(e => e.Seq)]));
            return ValueTask.FromResult(true);
        }
    }
}
