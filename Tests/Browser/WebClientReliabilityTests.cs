using System.Text.Json;
using System.Text.RegularExpressions;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>The web client's half of docs/protocol.md §8: offline catch-up from its cursor, retransmission under the same req, outages.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WebClientReliabilityTests(Chromium chromium, ITestOutputHelper output)
{
    private readonly IBrowser _browser = chromium.Browser;

    [Fact]
    public async Task A_recipient_that_was_offline_shows_every_message_once_in_order_when_it_comes_back()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync("before you left");
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts).ToHaveTextAsync(["before you left"]);
        var device = await bob.Page.Locator("#me-device").TextContentAsync();

        // Bob's browser goes away; what it keeps (localStorage: device, cursor, messages) comes back with it.
        var saved = await bob.Context.StorageStateAsync();
        await bob.DisposeAsync();

        string[] whileAway = ["one", "two", "three", "four", "five"];
        foreach (var text in whileAway)
        {
            await alice.SendAsync(text);
            await Expect(alice.Message(text)).ToHaveAttributeAsync("data-status", "sent");
        }

        await using var back = await ChatPage.OpenAsync(_browser, server.Address, storageState: saved);
        await back.ExpectOnlineAsync();
        Assert.Equal(device, await back.Page.Locator("#me-device").TextContentAsync());
        string[] all = ["before you left", .. whileAway];
        await Expect(back.Texts).ToHaveTextAsync(all);
        await Expect(back.Conversation("alice").Locator(".preview")).ToHaveTextAsync("five");

        // Nothing arrives a second time (a re-push, the history page): the view stays exactly this.
        await back.Page.ReloadAsync();
        await back.ExpectOnlineAsync();
        await back.OpenConversationAsync("alice");
        await Expect(back.Texts).ToHaveTextAsync(all);
        Assert.Empty(back.Errors);
    }

    [Fact]
    public async Task A_message_sent_while_the_server_is_down_shows_not_sent_then_sent_once_the_server_is_back()
    {
        var data = TempDirectory.Create();
        var port = GatewayProcess.FreePort();
        GatewayServer? server = await GatewayServer.StartAsync(dataDirectory: data, port: port);
        try
        {
            await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
            await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
            await alice.OpenChatWithAsync("bob");
            await alice.SendAsync("before the outage");
            await Expect(alice.Message("before the outage")).ToHaveAttributeAsync("data-status", "sent");
            await bob.OpenConversationAsync("alice");
            await Expect(bob.Texts).ToHaveTextAsync(["before the outage"]);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await server.StopAsync(TimeSpan.FromSeconds(1));
            await server.DisposeAsync();
            output.WriteLine($"stopped in {clock.Elapsed}");
            server = null;
            await Expect(alice.Connection).ToHaveAttributeAsync("data-state", "reconnecting");

            const string text = "sent while the server is down";
            const string second = "and a second one";
            await alice.SendAsync(text);
            await alice.SendAsync(second);
            var message = alice.Message(text);
            await Expect(message).ToHaveAttributeAsync("data-status", new Regex("^(pending|failed)$"));
            // No ack within the send timeout: the "not sent" display with its retry button.
            await Expect(message).ToHaveAttributeAsync("data-status", "failed");
            await Expect(message.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = "Retry" })).ToBeVisibleAsync();

            // A new server on the same data and port: the client reconnects and retransmits under the same req.
            output.WriteLine($"not sent shown at {clock.Elapsed}");
            server = await GatewayServer.StartAsync(dataDirectory: data, port: port);
            output.WriteLine($"restarted at {clock.Elapsed}");
            await Expect(message).ToHaveAttributeAsync("data-status", "sent", new LocatorAssertionsToHaveAttributeOptions { Timeout = 30_000 });
            await Expect(alice.Message(second)).ToHaveAttributeAsync("data-status", "sent");
            Assert.Equal(["pending", "failed", "sent"], await alice.StatusHistoryAsync(text));
            output.WriteLine($"sent at {clock.Elapsed}");
            await alice.ExpectOnlineAsync();

            // Retransmitted in req order, so sequenced in the order they were written.
            string[] conversation = ["before the outage", text, second];
            await Expect(alice.Texts).ToHaveTextAsync(conversation);
            await Expect(bob.Texts).ToHaveTextAsync(conversation);
            Assert.Equal(conversation, await WebClientTests.ServerHistoryAsync(server, "alice", "s:alice:bob"));
            Assert.Empty(alice.Errors);
            Assert.Empty(bob.Errors);
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_lost_ack_is_retransmitted_under_the_same_req_and_a_reload_never_reuses_a_req()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");

        // Between alice's page and the server: log every frame she sends, and lose the server's first send ack.
        var sent = new List<JsonElement>();
        var ackLost = 0;
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, prepare: context =>
            context.RouteWebSocketAsync(new Regex("/ws$"), page =>
            {
                var upstream = page.ConnectToServer();
                page.OnMessage(frame =>
                {
                    var json = JsonDocument.Parse(frame.Text!).RootElement.Clone();
                    if (json.GetProperty("t").GetString() == "send") lock (sent) sent.Add(json);
                    upstream.Send(frame.Text!);
                });
                upstream.OnMessage(frame =>
                {
                    var json = JsonDocument.Parse(frame.Text!).RootElement;
                    if (json.GetProperty("t").GetString() == "ack" && json.TryGetProperty("req", out _) && Interlocked.Exchange(ref ackLost, 1) == 0) return;
                    page.Send(frame.Text!);
                });
            }));
        await alice.SignInAsync("alice");
        await alice.OpenChatWithAsync("bob");

        const string text = "does this arrive twice?";
        await alice.SendAsync(text);
        await Expect(alice.Message(text)).ToHaveAttributeAsync("data-status", "sent");
        Assert.Equal(["pending", "failed", "sent"], await alice.StatusHistoryAsync(text));
        long[] reqs;
        lock (sent) reqs = [.. sent.Select(f => f.GetProperty("req").GetInt64())];
        Assert.Equal(2, reqs.Length);
        Assert.Equal(reqs[0], reqs[1]);

        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts).ToHaveTextAsync([text]);
        Assert.Equal([text], await WebClientTests.ServerHistoryAsync(server, "bob", "s:alice:bob"));

        // The req high-water mark outlives the page.
        await alice.Page.ReloadAsync();
        await alice.ExpectOnlineAsync();
        await alice.OpenConversationAsync("bob");
        await alice.SendAsync("after a reload");
        await Expect(alice.Message("after a reload")).ToHaveAttributeAsync("data-status", "sent");
        lock (sent) Assert.True(sent[^1].GetProperty("req").GetInt64() > reqs[0], "a reload reused a req");
        await Expect(bob.Texts).ToHaveTextAsync([text, "after a reload"]);
        Assert.Empty(alice.Errors);
    }
    [Fact]
    public async Task A_lost_push_is_filled_with_sync_duplicates_are_dropped_and_acks_are_cumulative_and_batched()
    {
        await using var server = await GatewayServer.StartAsync();
        const int count = 20;

        // Between bob's page and the server: log his frames, and lose the push of inbox seq 3 once.
        var frames = new List<JsonElement>();
        var pushLost = 0;
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, prepare: context =>
            context.RouteWebSocketAsync(new Regex("/ws$"), page =>
            {
                var upstream = page.ConnectToServer();
                page.OnMessage(frame =>
                {
                    lock (frames) frames.Add(JsonDocument.Parse(frame.Text!).RootElement.Clone());
                    upstream.Send(frame.Text!);
                });
                upstream.OnMessage(frame =>
                {
                    var json = JsonDocument.Parse(frame.Text!).RootElement;
                    var isSeq3 = json.GetProperty("t").GetString() == "msg" && json.TryGetProperty("seq", out var seq) && seq.GetInt64() == 3;
                    if (isSeq3 && Interlocked.Exchange(ref pushLost, 1) == 0) return;
                    page.Send(frame.Text!);
                });
            }));
        await bob.SignInAsync("bob");

        await using (var alice = await server.ConnectAsync("alice"))
        {
            for (var req = 1; req <= count; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
            await alice.ExpectManyAsync("ack", count);
        }

        await bob.OpenConversationAsync("alice");
        var expected = Enumerable.Range(1, count).Select(i => $"m{i}").ToArray();
        await Expect(bob.Texts).ToHaveTextAsync(expected);
        Assert.Equal(1, pushLost);
        await Wait.UntilAsync(() => Acks(frames).LastOrDefault() == count, "bob acknowledges everything", TimeSpan.FromSeconds(20));

        List<JsonElement> sent;
        lock (frames) sent = [.. frames];
        // The gap (holds 2, receives 4) was asked for with sync, not waited out until the server re-pushed.
        var sync = sent.FindIndex(f => f.GetProperty("t").GetString() == "sync" && f.GetProperty("after").GetInt64() == 2);
        Assert.True(sync >= 0, "no sync {after: 2} for the gap");
        // Cumulative: never past the gap before it is filled, never backwards; batched: fewer acks than messages.
        var firstAckPastGap = sent.FindIndex(f => f.GetProperty("t").GetString() == "ack" && f.TryGetProperty("seq", out var s) && s.GetInt64() >= 3);
        Assert.True(firstAckPastGap > sync, "an ack covered seq 3 before the client had it");
        var acks = Acks(sent);
        Assert.Equal(acks.Order(), acks);
        Assert.True(acks.Count < count, $"{acks.Count} acks for {count} messages: acks are not batched");

        // After reconnecting, the device says hello with the cursor it holds.
        await bob.Page.ReloadAsync();
        await bob.ExpectOnlineAsync();
        JsonElement hello;
        lock (frames) hello = frames.Last(f => f.GetProperty("t").GetString() == "hello");
        Assert.Equal(count, hello.GetProperty("cursor").GetInt64());
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts).ToHaveTextAsync(expected);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task The_sender_holds_its_own_messages_from_their_acks_without_a_push_or_a_sync()
    {
        await using var server = await GatewayServer.StartAsync();
        // Between alice's page and the server: log the frames each way.
        var fromPage = new List<JsonElement>();
        var fromServer = new List<JsonElement>();
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, prepare: context =>
            context.RouteWebSocketAsync(new Regex("/ws$"), page =>
            {
                var upstream = page.ConnectToServer();
                page.OnMessage(frame =>
                {
                    lock (fromPage) fromPage.Add(JsonDocument.Parse(frame.Text!).RootElement.Clone());
                    upstream.Send(frame.Text!);
                });
                upstream.OnMessage(frame =>
                {
                    lock (fromServer) fromServer.Add(JsonDocument.Parse(frame.Text!).RootElement.Clone());
                    page.Send(frame.Text!);
                });
            }));
        await alice.SignInAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync("one");
        await alice.SendAsync("two");
        await bob.ExpectPushAsync();
        await bob.ExpectPushAsync();
        // bob's reply is alice's inbox seq 3: surfaced only once seqs 1 and 2 are held, which came with the acks.
        await bob.SendChatAsync(1, "alice", "three");
        await Expect(alice.Texts).ToHaveTextAsync(["one", "two", "three"]);
        await Wait.UntilAsync(() => Acks(fromPage).LastOrDefault() == 3, "alice acknowledges seq 3", TimeSpan.FromSeconds(20));

        List<JsonElement> received, sent;
        lock (fromServer) received = [.. fromServer];
        lock (fromPage) sent = [.. fromPage];
        Assert.Equal([1L, 2L], received.Where(f => f.GetProperty("t").GetString() == "ack").Select(f => f.GetProperty("seq").GetInt64()));
        Assert.Equal([3L], received.Where(f => f.GetProperty("t").GetString() == "msg").Select(f => f.GetProperty("seq").GetInt64()));
        // Nothing was missing to the client: it asked no sync.
        Assert.DoesNotContain(sent, f => f.GetProperty("t").GetString() == "sync");

        // The device's cursor covers its own messages: after a reload it says hello from 3 and shows the conversation.
        await alice.Page.ReloadAsync();
        await alice.ExpectOnlineAsync();
        JsonElement hello;
        lock (fromPage) hello = fromPage.Last(f => f.GetProperty("t").GetString() == "hello");
        Assert.Equal(3, hello.GetProperty("cursor").GetInt64());
        await alice.OpenConversationAsync("bob");
        await Expect(alice.Texts).ToHaveTextAsync(["one", "two", "three"]);
        Assert.Empty(alice.Errors);
    }

    private static List<long> Acks(List<JsonElement> frames)
    {
        lock (frames)
        {
            return [.. frames.Where(f => f.GetProperty("t").GetString() == "ack" && f.TryGetProperty("seq", out _)).Select(f => f.GetProperty("seq").GetInt64())];
        }
    }
}
