using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using AspireChat.Client;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Client;

/// <summary>
/// The client SDK against the real Gateway (embedded mode on Kestrel): what the app sees through
/// <see cref="ChatClient.Messages"/> when the server retransmits, the socket dies, the server restarts mid-send,
/// a device catches up offline, and a group crosses the write-diffusion limit.
/// </summary>
public sealed class ChatClientAgainstGatewayTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private readonly List<ChatClient> _clients = [];
    private readonly List<IAsyncDisposable> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        for (var i = _servers.Count - 1; i >= 0; i--) await _servers[i].DisposeAsync();
    }

    private async Task<GatewayServer> StartServerAsync(Dictionary<string, string?>? settings = null, string? data = null, int port = 0)
    {
        var server = await GatewayServer.StartAsync(settings, data, port: port);
        _servers.Add(server);
        return server;
    }

    /// <summary>A client of <paramref name="user"/> that records what it surfaces; not connected yet.</summary>
    private async Task<Device> NewDeviceAsync(GatewayServer server, string user, ICursorStore? store = null, Uri? uri = null,
        TimeSpan? ackBatchDelay = null, TimeSpan? sendTimeout = null, string device = "phone")
    {
        // Minted once: the signing key is the same across restarts, and the server that minted it may be gone.
        var token = await server.TokenAsync(user);
        var client = new ChatClient(new ChatClientOptions
        {
            Server = uri ?? server.WebSocketUri,
            TokenProvider = _ => ValueTask.FromResult(token),
            Device = device,
            CursorStore = store ?? new InMemoryCursorStore(),
            SendTimeout = sendTimeout ?? TimeSpan.FromSeconds(5),
            MaxSendAttempts = 1_000,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(300),
            AckBatchDelay = ackBatchDelay ?? TimeSpan.FromMilliseconds(50),
            AckBatchSize = ackBatchDelay is null ? 100 : 100_000,
        });
        _clients.Add(client);
        return new Device(user, client);
    }

    private async Task<Device> ConnectAsync(GatewayServer server, string user, ICursorStore? store = null, TimeSpan? ackBatchDelay = null)
    {
        var device = await NewDeviceAsync(server, user, store, ackBatchDelay: ackBatchDelay);
        await device.Client.ConnectAsync().WaitAsync(Wait.Deadline);
        return device;
    }

    private static JsonElement Body(string text) =>
        JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text })).RootElement;

    private static string Text(MsgFrame m) => m.Body.TryGetProperty("text", out var t) ? t.GetString()! : "";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<List<MsgFrame>> HistoryAsync(GatewayServer server, string user, string conv)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, $"/api/conversations/{conv}/messages?limit=200");
        response.EnsureSuccessStatusCode();
        return [.. (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.HistoryPage))!.Items];
    }

    private static async Task ChangeMembersAsync(GatewayServer server, string gid, string owner, string[] add, string[] remove)
    {
        if (add.Length > 0)
        {
            using var added = await server.RequestAsync(owner, HttpMethod.Post, $"/api/groups/{gid}/members", new { users = add });
            Assert.Equal(HttpStatusCode.NoContent, added.StatusCode);
        }
        foreach (var user in remove)
        {
            using var removed = await server.RequestAsync(owner, HttpMethod.Delete, $"/api/groups/{gid}/members/{user}");
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
    }

    /// <summary>A connected user's client and everything it surfaced, in surfacing order.</summary>
    private sealed class Device
    {
        private readonly List<MsgFrame> _surfaced = [];

        public Device(string user, ChatClient client)
        {
            (User, Client) = (user, client);
            client.MessageReceived += (_, m) => { lock (_surfaced) _surfaced.Add(m); };
        }

        public string User { get; }
        public ChatClient Client { get; }

        public List<MsgFrame> Surfaced
        {
            get { lock (_surfaced) return [.. _surfaced]; }
        }

        public List<MsgFrame> In(string conv) => Surfaced.Where(m => m.Conv == conv).ToList();

        public Task SurfacedAsync(string conv, string text, TimeSpan? timeout = null) =>
            Wait.UntilAsync(() => In(conv).Any(m => Text(m) == text), $"{User} surfaces '{text}' in {conv}", timeout);

        public OutgoingMessage Send(string to, string text, int ope = Ope.OneToOne) => Client.Send(ope, to, 1, Body(text));
    }

    /// <summary>Surfaced exactly once each and in conversation order: cseqs strictly ascending, ids distinct.</summary>
    private static void AssertOnceInOrder(IReadOnlyList<MsgFrame> messages)
    {
        for (var i = 1; i < messages.Count; i++)
        {
            if (messages[i].Cseq <= messages[i - 1].Cseq)
                Assert.Fail($"cseq {messages[i].Cseq} surfaced after {messages[i - 1].Cseq} at position {i}: {Describe(messages, i)}");
        }
        Assert.Equal(messages.Count, messages.Select(m => m.Id).Distinct().Count());
    }

    private static string Describe(IReadOnlyList<MsgFrame> messages, int around) =>
        string.Join(", ", messages.Skip(Math.Max(0, around - 4)).Take(8).Select(m => $"[cseq {m.Cseq} seq {m.Seq?.ToString() ?? "-"} '{Text(m)}' type {m.Type}]"));

    // ------------------------------------------------------------------ one-to-one

    [Fact]
    public async Task Two_clients_exchange_messages_each_surfaced_once_in_conversation_order()
    {
        var server = await StartServerAsync();
        var alice = await ConnectAsync(server, "alice");
        var bob = await ConnectAsync(server, "bob");
        const string conv = "s:alice:bob";

        var sent = new List<OutgoingMessage>();
        for (var i = 1; i <= 20; i++)
        {
            sent.Add(alice.Send("bob", $"a{i}"));
            sent.Add(bob.Send("alice", $"b{i}"));
        }
        var receipts = await Task.WhenAll(sent.Select(m => m.Acked)).WaitAsync(Wait.Deadline);
        Assert.All(receipts, r => Assert.Equal(conv, r.Conv));
        var last = alice.Send("bob", "end");
        await last.Acked.WaitAsync(Wait.Deadline);
        await bob.SurfacedAsync(conv, "end");
        await alice.SurfacedAsync(conv, "end"); // the sender's own inbox copy

        foreach (var device in new[] { alice, bob })
        {
            var seen = device.In(conv);
            // Both sides see one order: the whole conversation, cseq 1..41, each once.
            Assert.Equal(Enumerable.Range(1, 41).Select(i => (long)i), seen.Select(m => m.Cseq));
            Assert.Equal(receipts.Select(r => r.Id).Append(last.Id).Order(), seen.Select(m => m.Id).Order());
            Assert.Equal(Enumerable.Range(1, 20).Select(i => $"a{i}").Append("end"), seen.Where(m => m.From == "alice").Select(Text));
            Assert.Equal(Enumerable.Range(1, 20).Select(i => $"b{i}"), seen.Where(m => m.From == "bob").Select(Text));
            var seqs = seen.Select(m => m.Seq!.Value).ToList();
            Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(i => (long)i), seqs);
        }
    }

    [Fact]
    public async Task The_sending_client_surfaces_its_own_message_from_the_ack_once_and_acknowledges_it()
    {
        var server = await StartServerAsync();
        var alice = await ConnectAsync(server, "alice");
        var bob = await ConnectAsync(server, "bob");
        const string conv = "s:alice:bob";

        var receipt = await alice.Send("bob", "mine").Acked.WaitAsync(Wait.Deadline);
        await alice.SurfacedAsync(conv, "mine");
        var own = Assert.Single(alice.In(conv));
        Assert.Equal((receipt.Id, "alice", "bob", 1L), (own.Id, own.From, own.To, own.Cseq));
        // The client acknowledged the entry its ack held: the server records the device's cursor there.
        var cursors = server.Services.GetRequiredService<AspireChat.Messaging.Delivery.CursorRecorder>();
        await Wait.UntilAsync(async () => await cursors.GetAsync("alice", "phone") == own.Seq, "alice's phone acknowledged its own entry");

        // The server did not push it back: bob's reply is the next entry of alice's inbox and arrives after anything before
        // it, and nothing was dropped as a duplicate on the way.
        bob.Send("alice", "reply");
        await alice.SurfacedAsync(conv, "reply");
        Assert.Equal([own.Seq, own.Seq + 1], alice.In(conv).Select(m => m.Seq));
        Assert.Equal(0, alice.Client.DuplicatesDropped);
    }

    [Fact]
    public async Task Pushes_repeated_after_the_servers_ack_timeout_are_surfaced_once()
    {
        var server = await StartServerAsync(new() { ["Delivery:AckTimeout"] = "00:00:00.100" });
        var alice = await ConnectAsync(server, "alice");
        // bob holds his acks back for 1.5 s: the server pushes every entry again at 100, 300, 700 ms, …
        var bob = await ConnectAsync(server, "bob", ackBatchDelay: TimeSpan.FromMilliseconds(1500));
        const string conv = "s:alice:bob";

        for (var i = 1; i <= 30; i++) alice.Send("bob", $"m{i}");
        await bob.SurfacedAsync(conv, "m30");
        await Wait.UntilAsync(() => bob.Client.DuplicatesDropped >= 30, "the server's repeated pushes reach bob");
        var store = server.Services.GetRequiredService<AspireChat.Messaging.Storage.ICursorStore>();
        await Wait.UntilAsync(async () => await store.GetCursorAsync("bob", "phone") == 30, "bob's ack recorded by the server");
        alice.Send("bob", "end");
        await bob.SurfacedAsync(conv, "end");

        var seen = bob.In(conv);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"m{i}").Append("end"), seen.Select(Text));
        Assert.Equal(Enumerable.Range(1, 31).Select(i => (long)i), seen.Select(m => m.Seq!.Value));
        AssertOnceInOrder(seen);
    }

    [Fact]
    public async Task Messages_in_flight_when_the_socket_dies_are_surfaced_once_across_reconnects()
    {
        var server = await StartServerAsync(new() { ["Delivery:AckTimeout"] = "00:00:00.150" });
        var alice = await ConnectAsync(server, "alice");
        var bob = await ConnectAsync(server, "bob", ackBatchDelay: TimeSpan.FromMilliseconds(400));
        var welcomes = 0;
        bob.Client.StateChanged += (_, change) => { if (change.State == ChatClientState.Connected) Interlocked.Increment(ref welcomes); };
        const string conv = "s:alice:bob";
        const int total = 300;

        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                alice.Send("bob", $"m{i}");
                if (i % 10 == 0) await Task.Delay(50); // slow enough for the server's 150 ms ack timeout to fire between drops
            }
        });
        foreach (var dropAt in new[] { 60, 140, 220 })
        {
            await Wait.UntilAsync(() => bob.In(conv).Count >= dropAt, $"bob surfaces {dropAt}", Long);
            var before = Volatile.Read(ref welcomes);
            bob.Client.DropConnection();
            await Wait.UntilAsync(() => Volatile.Read(ref welcomes) > before, "bob reconnected");
        }
        await sending;
        await bob.SurfacedAsync(conv, $"m{total}", Long);
        alice.Send("bob", "end");
        await bob.SurfacedAsync(conv, "end");

        var seen = bob.In(conv);
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"m{i}").Append("end"), seen.Select(Text));
        Assert.Equal(Enumerable.Range(1, total + 1).Select(i => (long)i), seen.Select(m => m.Seq!.Value));
        AssertOnceInOrder(seen);
        Assert.True(bob.Client.DuplicatesDropped > 0, "the server never pushed anything twice: the test proved nothing");
    }

    [Fact]
    public async Task A_send_whose_ack_is_lost_to_a_server_restart_completes_with_the_original_id_and_arrives_once()
    {
        var data = TempDirectory.Create();
        var port = FreePort();
        var first = await StartServerAsync(data: data, port: port);
        await using var proxy = TcpProxy.Start(port);
        var alice = await NewDeviceAsync(first, "alice", uri: new Uri($"ws://127.0.0.1:{proxy.Port}/ws"), sendTimeout: TimeSpan.FromMilliseconds(300));
        await alice.Client.ConnectAsync().WaitAsync(Wait.Deadline);
        var bob = await ConnectAsync(first, "bob");
        const string conv = "s:alice:bob";
        await alice.Send("bob", "warm-up").Acked.WaitAsync(Wait.Deadline);

        // From here on, nothing the first server says reaches alice: it accepts the send, and the ack goes nowhere.
        proxy.SwallowReplies();
        var message = alice.Send("bob", "ack lost");
        await bob.SurfacedAsync(conv, "ack lost");
        await Wait.UntilAsync(() => message.Attempts >= 2, "alice retransmits into the void");
        Assert.Equal(OutgoingStatus.Pending, message.Status);
        var delivered = bob.In(conv).Single(m => Text(m) == "ack lost");

        _servers.Remove(first);
        await first.DisposeAsync();
        var second = await StartServerAsync(data: data, port: port);

        var receipt = await message.Acked.WaitAsync(Long);
        Assert.Equal(delivered.Id, receipt.Id);
        Assert.Equal(delivered.Ts, receipt.Ts);
        await alice.Send("bob", "after restart").Acked.WaitAsync(Wait.Deadline);
        await bob.SurfacedAsync(conv, "after restart", Long);

        Assert.Equal(["warm-up", "ack lost", "after restart"], bob.In(conv).Select(Text));
        AssertOnceInOrder(bob.In(conv));
        var history = await HistoryAsync(second, "bob", conv);
        Assert.Equal(["warm-up", "ack lost", "after restart"], history.Select(Text));
    }

    [Fact]
    public async Task A_stopping_server_says_going_away_and_the_client_resumes_with_its_successor_on_the_same_port()
    {
        var data = TempDirectory.Create();
        var port = FreePort();
        var first = await StartServerAsync(data: data, port: port);
        var alice = await ConnectAsync(first, "alice");
        var bob = await ConnectAsync(first, "bob");
        const string conv = "s:alice:bob";
        await alice.Send("bob", "before").Acked.WaitAsync(Wait.Deadline);
        await bob.SurfacedAsync(conv, "before");
        var disconnects = new List<ChatDisconnect>();
        bob.Client.StateChanged += (_, change) => { if (change.Disconnect is { } d) lock (disconnects) disconnects.Add(d); };

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        _servers.Remove(first);
        await first.DisposeAsync();
        // Connected clients are told goodbye, not kept open until the host's 30 s shutdown timeout aborts them.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
        await Wait.UntilAsync(() => { lock (disconnects) return disconnects.Count > 0; }, "bob's client notices");
        lock (disconnects) Assert.Equal(1001, disconnects[0].CloseCode);

        await StartServerAsync(data: data, port: port);
        await alice.Send("bob", "after").Acked.WaitAsync(Long);
        await bob.SurfacedAsync(conv, "after", Long);
        Assert.Equal(["before", "after"], bob.In(conv).Select(Text));
    }

    [Fact]
    public async Task An_offline_device_catches_up_more_than_a_window_complete_in_order_and_once()
    {
        // About catching up past the window, not the budgets: the send and frame rate limits out of the way (2,500 sends
        // in one burst are past the frame budget's 2,000).
        var server = await StartServerAsync(new()
        {
            ["Limits:SendsPerSecond"] = "100000", ["Limits:SendBurst"] = "100000",
            ["Limits:FramesPerSecond"] = "100000", ["Limits:FrameBurst"] = "100000",
        });
        var alice = await ConnectAsync(server, "alice");
        var store = new InMemoryCursorStore();
        const string conv = "s:alice:bob";
        const int total = 2_500; // more than Delivery:Window (1,000) in flight

        var bobBefore = await ConnectAsync(server, "bob", store);
        alice.Send("bob", "before");
        await bobBefore.SurfacedAsync(conv, "before");
        await bobBefore.Client.DisposeAsync();
        Assert.Equal(1, store.Current!.Seq);

        var sent = Enumerable.Range(1, total).Select(i => alice.Send("bob", $"m{i}")).ToList();
        await Task.WhenAll(sent.Select(m => m.Acked)).WaitAsync(Long);

        var bob = await ConnectAsync(server, "bob", store);
        await bob.SurfacedAsync(conv, $"m{total}", Long);
        alice.Send("bob", "end");
        await bob.SurfacedAsync(conv, "end");

        var seen = bob.In(conv);
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"m{i}").Append("end"), seen.Select(Text));
        Assert.Equal(Enumerable.Range(2, total + 1).Select(i => (long)i), seen.Select(m => m.Seq!.Value));
        Assert.Equal(sent.Select(m => m.Id), seen.Take(total).Select(m => m.Id));
        AssertOnceInOrder(seen);
        await Wait.UntilAsync(() => store.Current?.Seq == total + 2, "bob's cursor saved");
    }

    // ------------------------------------------------------------------ groups

    [Fact]
    public async Task A_large_group_is_surfaced_live_once_in_cseq_order_and_acknowledged_per_group()
    {
        var server = await StartServerAsync(new() { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = Identifiers.GroupConversation(gid);
        var alice = await ConnectAsync(server, "alice");
        var store = new InMemoryCursorStore();
        var bob = await ConnectAsync(server, "bob", store);

        for (var i = 1; i <= 20; i++) alice.Send(gid, $"g{i}", Ope.Group);
        await bob.SurfacedAsync(conv, "g20");

        var seen = bob.In(conv);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"g{i}"), seen.Select(Text));
        Assert.All(seen, m => Assert.Null(m.Seq));
        Assert.Equal(Enumerable.Range((int)seen[0].Cseq, 20).Select(i => (long)i), seen.Select(m => m.Cseq));
        var last = seen[^1].Cseq;
        Assert.Equal(last, bob.Client.GroupCursors[gid]);
        var groups = server.Services.GetRequiredService<IUserStore>();
        await Wait.UntilAsync(async () => await groups.GetGroupCursorAsync("bob", "phone", gid) == last, "the server records bob's group ack");
        await Wait.UntilAsync(() => store.Current?.Groups?.GetValueOrDefault(gid) == last, "bob's group cursor saved");
    }

    [Fact]
    public async Task An_offline_member_catches_up_a_large_group_through_hello_groups_and_gsync_while_it_keeps_talking()
    {
        var server = await StartServerAsync(new()
        {
            ["Groups:WriteDiffusionLimit"] = "2", ["Limits:SendsPerSecond"] = "100000", ["Limits:SendBurst"] = "100000",
        });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = Identifiers.GroupConversation(gid);
        var alice = await ConnectAsync(server, "alice");
        var store = new InMemoryCursorStore();

        var carolBefore = await ConnectAsync(server, "carol", store);
        alice.Send(gid, "seen", Ope.Group);
        await carolBefore.SurfacedAsync(conv, "seen");
        await carolBefore.Client.DisposeAsync();
        var cursor = store.Current!.Groups![gid];

        // 250 missed, and the group stays quiet: the hello page brings 100, and only the client's own gsync the rest.
        var missed = Enumerable.Range(1, 250).Select(i => alice.Send(gid, $"m{i}", Ope.Group)).ToList();
        await Task.WhenAll(missed.Select(m => m.Acked)).WaitAsync(Long);
        await alice.SurfacedAsync(conv, "m250", Long); // sequenced: the timeline has them all
        var carolQuiet = await ConnectAsync(server, "carol", store);
        await carolQuiet.SurfacedAsync(conv, "m250", Long);
        var quiet = carolQuiet.In(conv);
        Assert.Equal(Enumerable.Range(1, 250).Select(i => $"m{i}"), quiet.Select(Text));
        Assert.Equal(Enumerable.Range((int)cursor + 1, 250).Select(i => (long)i), quiet.Select(m => m.Cseq));
        Assert.All(quiet, m => Assert.Null(m.Seq));
        await carolQuiet.Client.DisposeAsync();

        // 150 more missed, and 50 arrive live while carol catches up: live pushes land ahead of the pages.
        var more = Enumerable.Range(1, 150).Select(i => alice.Send(gid, $"n{i}", Ope.Group)).ToList();
        await Task.WhenAll(more.Select(m => m.Acked)).WaitAsync(Long);
        await alice.SurfacedAsync(conv, "n150", Long);
        var carol = await NewDeviceAsync(server, "carol", store);
        var connecting = carol.Client.ConnectAsync();
        for (var i = 1; i <= 50; i++) alice.Send(gid, $"live{i}", Ope.Group);
        await connecting.WaitAsync(Wait.Deadline);
        await carol.SurfacedAsync(conv, "live50", Long);

        var seen = carol.In(conv);
        Assert.Equal(Enumerable.Range(1, 150).Select(i => $"n{i}").Concat(Enumerable.Range(1, 50).Select(i => $"live{i}")), seen.Select(Text));
        Assert.Equal(Enumerable.Range((int)cursor + 251, 200).Select(i => (long)i), seen.Select(m => m.Cseq));
        Assert.Equal(cursor + 450, carol.Client.GroupCursors[gid]);
    }

    [Fact]
    public async Task A_large_group_missing_from_hello_groups_is_not_replayed_from_its_start()
    {
        var server = await StartServerAsync(new() { ["Groups:WriteDiffusionLimit"] = "2" });
        var known = await server.CreateGroupAsync("alice", "bob", "carol");
        var other = await server.CreateGroupAsync("alice", "bob", "carol");
        var alice = await ConnectAsync(server, "alice");
        for (var i = 1; i <= 30; i++) alice.Send(other, $"old{i}", Ope.Group);
        await alice.SurfacedAsync(Identifiers.GroupConversation(other), "old30");

        // bob's device starts after the 30: they are history to it, not news.
        var store = new InMemoryCursorStore();
        var bobFirst = await ConnectAsync(server, "bob", store);
        alice.Send(known, "k1", Ope.Group);
        await bobFirst.SurfacedAsync(Identifiers.GroupConversation(known), "k1");
        await bobFirst.Client.DisposeAsync();

        var bob = await ConnectAsync(server, "bob", store); // hello.groups lists `known` only
        alice.Send(other, "new", Ope.Group);
        await bob.SurfacedAsync(Identifiers.GroupConversation(other), "new");
        Assert.Equal(["new"], bob.In(Identifiers.GroupConversation(other)).Select(Text));
    }

    [Fact]
    public async Task A_device_that_was_online_while_a_large_group_was_quiet_gets_what_the_group_said_while_it_was_away()
    {
        var server = await StartServerAsync(new() { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = Identifiers.GroupConversation(gid);
        var alice = await ConnectAsync(server, "alice");
        var store = new InMemoryCursorStore();
        var bobFirst = await ConnectAsync(server, "bob", store); // the group is quiet: nothing to acknowledge
        await bobFirst.Client.PingAsync();
        await bobFirst.Client.DisposeAsync();

        for (var i = 1; i <= 5; i++) alice.Send(gid, $"away{i}", Ope.Group);
        await alice.SurfacedAsync(conv, "away5");
        var bob = await ConnectAsync(server, "bob", store);
        alice.Send(gid, "back", Ope.Group);
        await bob.SurfacedAsync(conv, "back");

        Assert.Equal(["away1", "away2", "away3", "away4", "away5", "back"], bob.In(conv).Where(m => m.Type >= 0).Select(Text));
    }

    [Fact]
    public async Task A_member_added_to_a_large_group_while_offline_gets_the_group_from_its_join()
    {
        var server = await StartServerAsync(new() { ["Groups:WriteDiffusionLimit"] = "2" });
        var gid = await server.CreateGroupAsync("alice", "carol", "dave");
        var conv = Identifiers.GroupConversation(gid);
        var alice = await ConnectAsync(server, "alice");
        var store = new InMemoryCursorStore();
        var bobFirst = await ConnectAsync(server, "bob", store);
        await bobFirst.Client.PingAsync();
        await bobFirst.Client.DisposeAsync();

        await ChangeMembersAsync(server, gid, "alice", add: ["bob"], remove: []);
        for (var i = 1; i <= 3; i++) alice.Send(gid, $"since-join{i}", Ope.Group);
        await alice.SurfacedAsync(conv, "since-join3");
        var bob = await ConnectAsync(server, "bob", store);
        alice.Send(gid, "later", Ope.Group);
        await bob.SurfacedAsync(conv, "later");

        Assert.Equal(["since-join1", "since-join2", "since-join3", "later"], bob.In(conv).Where(m => m.Type >= 0).Select(Text));
        Assert.Equal(SystemMessageTypes.MembersAdded, bob.In(conv)[0].Type);
    }

    [Fact]
    public async Task A_group_crossing_the_write_diffusion_limit_both_ways_mid_stream_loses_duplicates_and_reorders_nothing()
    {
        var server = await StartServerAsync(new() { ["Groups:WriteDiffusionLimit"] = "3" });
        var gid = await server.CreateGroupAsync("alice", "bob", "carol");
        var conv = Identifiers.GroupConversation(gid);
        var alice = await ConnectAsync(server, "alice");
        var bob = await ConnectAsync(server, "bob");
        var carolStore = new InMemoryCursorStore();
        var carolBefore = await ConnectAsync(server, "carol", carolStore);
        const int total = 120;

        // alice talks without pause while the group grows past the limit, shrinks back, and grows again: each change
        // starts when `at` messages are out, and up to ten more go out while the change is being made.
        var sent = new List<OutgoingMessage>();
        var allowed = 0;
        var talking = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                await Wait.UntilAsync(() => i <= Volatile.Read(ref allowed), $"message {i} may go out", Long);
                lock (sent) sent.Add(alice.Send(gid, $"m{i}", Ope.Group));
                await Task.Delay(2);
            }
        });
        (int At, Func<Task> Change)[] script =
        [
            (15, () => ChangeMembersAsync(server, gid, "alice", add: ["dave", "erin"], remove: [])),  // 5 members: read diffusion
            (40, () => carolBefore.Client.DisposeAsync().AsTask()),                                    // carol goes offline
            (55, () => ChangeMembersAsync(server, gid, "alice", add: [], remove: ["dave", "erin"])),  // 3: write diffusion again
            (80, () => ChangeMembersAsync(server, gid, "alice", add: ["frank"], remove: [])),         // 4: read diffusion
            (100, () => ChangeMembersAsync(server, gid, "alice", add: [], remove: ["frank"])),        // 3: write diffusion
        ];
        foreach (var (at, change) in script)
        {
            Volatile.Write(ref allowed, at + 10);
            await Wait.UntilAsync(() => { lock (sent) return sent.Count >= at; }, $"{at} sent", Long);
            await change();
        }
        Volatile.Write(ref allowed, total);
        await talking;
        await Task.WhenAll(sent.Select(m => m.Acked)).WaitAsync(Long);
        alice.Send(gid, "end", Ope.Group);
        await bob.SurfacedAsync(conv, "end", Long);

        var carol = await ConnectAsync(server, "carol", carolStore);
        await carol.SurfacedAsync(conv, "end", Long);

        // The timeline as the server keeps it: every message and membership event, by cseq.
        var timeline = await HistoryAsync(server, "bob", conv);
        Assert.Equal(Enumerable.Range(1, timeline.Count).Select(i => (long)i), timeline.Select(m => m.Cseq));
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"m{i}").Append("end"), timeline.Where(m => m.Type >= 0).Select(Text));

        var bobSaw = bob.In(conv);
        AssertOnceInOrder(bobSaw);
        var fromBobsFirst = timeline.SkipWhile(m => m.Cseq < bobSaw[0].Cseq).ToList();
        Assert.Equal(fromBobsFirst.Select(m => m.Id), bobSaw.Select(m => m.Id));
        Assert.Contains(bobSaw, m => m.Seq is null);      // read diffusion carried some
        Assert.Contains(bobSaw, m => m.Seq is not null);  // the inbox carried others
        AssertOnceInOrder(bobSaw);

        var carolSaw = carolBefore.In(conv).Concat(carol.In(conv)).ToList();
        AssertOnceInOrder(carolSaw);
        Assert.Equal(timeline.SkipWhile(m => m.Cseq < carolSaw[0].Cseq).Select(m => m.Id), carolSaw.Select(m => m.Id));
        AssertOnceInOrder(carolSaw);
        Assert.Equal(timeline[^1].Cseq, carol.Client.GroupCursors[gid]);
    }
}
