using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Client;

/// <summary>The client SDK's read positions, receipts, typing and conversation list against the real Gateway (docs/protocol.md §12.8).</summary>
public sealed class ChatClientConversationTests : IAsyncLifetime
{
    private readonly List<ChatClient> _clients = [];
    private GatewayServer _server = null!;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>A connected client of <paramref name="user"/> that records every event it raises.</summary>
    private async Task<Recorder> ConnectAsync(string user, string device = "phone")
    {
        var token = await _server.TokenAsync(user);
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.WebSocketUri,
            TokenProvider = _ => ValueTask.FromResult(token),
            Device = device,
            AckBatchDelay = TimeSpan.FromMilliseconds(20),
        });
        _clients.Add(client);
        var recorder = new Recorder(client);
        await client.ConnectAsync().WaitAsync(Wait.Deadline);
        return recorder;
    }

    private static JsonElement Body(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new { text })).RootElement;

    private static async Task SendAsync(Recorder from, string to, params string[] texts)
    {
        foreach (var text in texts) await from.Client.Send(Ope.OneToOne, to, 1, Body(text)).Acked.WaitAsync(Wait.Deadline);
    }

    [Fact]
    public async Task MarkReadAsync_clears_the_unread_count_and_the_users_other_device_hears_of_it()
    {
        var alice = await ConnectAsync("alice");
        var phone = await ConnectAsync("bob", "phone");
        var laptop = await ConnectAsync("bob", "laptop");
        await SendAsync(alice, "bob", "one", "two");
        await Wait.UntilAsync(() => phone.Messages.Count == 2, "bob's phone got both messages");
        var before = Assert.Single((await phone.Client.ListConversationsAsync()).Items);
        Assert.Equal(("s:alice:bob", "alice", 2L, 0L), (before.Conv, before.With, before.Unread, before.Read));

        await phone.Client.MarkReadAsync("s:alice:bob", 2);

        await Wait.UntilAsync(() => laptop.Reads.Any(r => r is { Conv: "s:alice:bob", Cseq: 2 }), "the laptop heard of the read");
        var after = Assert.Single((await laptop.Client.ListConversationsAsync()).Items);
        Assert.Equal((0L, 2L, "two"), (after.Unread, after.Read, after.Last.Body.GetProperty("text").GetString()));
        Assert.Empty(phone.Reads);
    }

    [Fact]
    public async Task The_sender_hears_delivered_and_then_read_receipts_and_can_ask_for_them()
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        await SendAsync(alice, "bob", "hello");

        // bob's client acknowledges on its own: that is "Delivered".
        await Wait.UntilAsync(() => alice.Receipts.Any(r => r is { Conv: "s:alice:bob", User: "bob", Delivered: 1 }), "alice heard bob's device got it");
        await bob.Client.MarkReadAsync("s:alice:bob", 1);
        await Wait.UntilAsync(() => alice.Receipts.Any(r => r is { User: "bob", Read: 1 }), "alice heard bob read it");

        var receipt = Assert.Single((await alice.Client.GetReceiptsAsync("s:alice:bob")).Items);
        Assert.Equal(("bob", 1L, 1L), (receipt.User, receipt.Delivered, receipt.Read));
        Assert.DoesNotContain(bob.Receipts, r => r.User == "bob");
    }

    [Fact]
    public async Task SendTypingAsync_reaches_the_other_party_and_sends_at_most_one_per_interval()
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        await SendAsync(alice, "bob", "hi");

        Assert.True(await alice.Client.SendTypingAsync("s:alice:bob"));
        Assert.False(await alice.Client.SendTypingAsync("s:alice:bob"));

        await Wait.UntilAsync(() => bob.Typing.Any(t => t is { Conv: "s:alice:bob", User: "alice" }), "bob saw alice typing");
        Assert.Empty(alice.Typing);
    }

    [Fact]
    public async Task A_refused_read_arrives_on_the_error_event_and_the_client_stays_connected()
    {
        var alice = await ConnectAsync("alice");

        await alice.Client.MarkReadAsync("s:bob:carol", 1);

        await Wait.UntilAsync(() => alice.Errors.Any(e => e.Frame?.Code == ErrorCodes.Forbidden), "the refusal arrived");
        await alice.Client.PingAsync().WaitAsync(Wait.Deadline);
        Assert.Equal(ChatClientState.Connected, alice.Client.State);
    }

    [Fact]
    public async Task ListConversationsAsync_pages_with_next_until_the_last_page()
    {
        var bob = await ConnectAsync("bob");
        var carol = await ConnectAsync("carol");
        var dave = await ConnectAsync("dave");
        await SendAsync(carol, "bob", "from carol");
        await SendAsync(dave, "bob", "from dave");
        await Wait.UntilAsync(() => bob.Messages.Count == 2, "bob got both");

        var first = await bob.Client.ListConversationsAsync(limit: 1);
        Assert.Equal("dave", Assert.Single(first.Items).With);
        Assert.NotNull(first.Next);
        var second = await bob.Client.ListConversationsAsync(limit: 1, before: first.Next);
        Assert.Equal("carol", Assert.Single(second.Items).With);
        Assert.Null(second.Next);
    }

    private sealed class Recorder
    {
        public Recorder(ChatClient client)
        {
            Client = client;
            client.MessageReceived += (_, m) => Messages.Enqueue(m);
            client.ReadOnOtherDevice += (_, r) => Reads.Enqueue(r);
            client.ReceiptReceived += (_, r) => Receipts.Enqueue(r);
            client.TypingReceived += (_, t) => Typing.Enqueue(t);
            client.Error += (_, e) => Errors.Enqueue(e);
        }

        public ChatClient Client { get; }
        public ConcurrentQueue<MsgFrame> Messages { get; } = new();
        public ConcurrentQueue<ReadFrame> Reads { get; } = new();
        public ConcurrentQueue<ReceiptFrame> Receipts { get; } = new();
        public ConcurrentQueue<TypingFrame> Typing { get; } = new();
        public ConcurrentQueue<ChatErrorEventArgs> Errors { get; } = new();
    }
}
