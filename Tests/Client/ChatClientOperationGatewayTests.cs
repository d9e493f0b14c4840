using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Client;

/// <summary>
/// The client SDK's message operations against the real Gateway (embedded mode): each device's local state, built from
/// the operation entries it receives, ends where the server's views are (docs/protocol.md §13).
/// </summary>
public sealed class ChatClientOperationGatewayTests : IAsyncLifetime
{
    private readonly List<ChatClient> _clients = [];
    private GatewayServer _server = null!;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private async Task<Device> ConnectAsync(string user, string device = "phone", ICursorStore? store = null)
    {
        var token = await _server.TokenAsync(user);
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.WebSocketUri,
            TokenProvider = _ => ValueTask.FromResult(token),
            Device = device,
            CursorStore = store ?? new InMemoryCursorStore(),
            AckBatchDelay = TimeSpan.FromMilliseconds(20),
        });
        _clients.Add(client);
        var recorded = new Device(user, client);
        await client.ConnectAsync().WaitAsync(Wait.Deadline);
        return recorded;
    }

    private static JsonElement Body(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new { text })).RootElement;

    private static string? Text(JsonElement body) => body.TryGetProperty("text", out var text) ? text.GetString() : null;

    /// <summary>The fields every device must agree on with the server's one-message view.</summary>
    private static string StateOf(MsgFrame m) => JsonSerializer.Serialize(new
    {
        body = m.Body.GetRawText(),
        ex = m.Ex?.GetRawText(),
        m.Edited,
        recalled = m.Recalled == true,
        pinned = m.Pinned == true,
        reactions = (m.Reactions ?? new Dictionary<string, IReadOnlyList<string>>()).Select(r => $"{r.Key}:{string.Join(",", r.Value)}"),
    });

    private static async Task<MsgFrame> AckedMessageAsync(Device from, int ope, string to, string text)
    {
        var sent = await from.Client.SendAsync(ope, to, 1, Body(text));
        var receipt = await Wait.ForAsync(sent.Acked, $"the ack of '{text}'");
        return await Wait.ForObjectAsync(() => Task.FromResult(from.Surfaced.FirstOrDefault(m => m.Id == receipt.Id)), $"{from.User}'s copy of '{text}'");
    }

    [Fact]
    public async Task Edit_react_and_pin_round_trip_and_both_parties_converge_on_the_servers_view()
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        var original = await AckedMessageAsync(alice, Ope.OneToOne, "bob", "meet at 10");
        await bob.SurfacedAsync(original.Id);

        // One after the other (each acknowledged before the next): two devices' requests are sequenced in no set order.
        var operations = new List<OutgoingOperation>();
        foreach (var operate in new Func<ValueTask<OutgoingOperation>>[]
        {
            () => bob.Client.ReactAsync(original.Conv, original.Id, "👍"),
            () => alice.Client.EditAsync(original.Conv, original.Id, Body("meet at 11")),
            () => alice.Client.ReactAsync(original.Conv, original.Id, "👍"),
            () => bob.Client.PinAsync(original.Conv, original.Id),
            () => bob.Client.ReactAsync(original.Conv, original.Id, "🎉"),
            () => bob.Client.ReactAsync(original.Conv, original.Id, "🎉", on: false),
        })
        {
            var operation = await operate();
            await Wait.ForAsync(operation.Acked, $"{operation}");
            operations.Add(operation);
        }
        var entries = operations.Select(o => o.Id!).ToHashSet();
        foreach (var device in new[] { alice, bob })
            await Wait.UntilAsync(() => entries.IsSubsetOf(device.Surfaced.Select(m => m.Id)), $"{device.User} applied every entry");

        var view = await alice.Client.GetMessageAsync(original.Conv, original.Id);
        Assert.Equal("meet at 11", Text(view.Body));
        Assert.Equal(["bob", "alice"], view.Reactions!["👍"]);
        Assert.True(view.Pinned);
        Assert.Equal(["meet at 10", "meet at 11"], view.Edits!.Select(v => Text(v.Body)));
        foreach (var device in new[] { alice, bob })
        {
            Assert.Equal(StateOf(view), StateOf(device.Client.WithCurrentState(original)));
            Assert.Equal(["edited", "pin", "reaction"], device.Events.Select(e => e.Kind).Distinct().Order());
            Assert.Equal(4, device.Events.Count(e => e.Kind == "reaction"));
        }
        var pins = await bob.Client.GetPinsAsync(original.Conv);
        Assert.Equal([original.Id], pins.Select(p => p.Id));
    }

    [Fact]
    public async Task A_recall_erases_the_content_on_every_device_and_an_edit_after_it_is_refused()
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        var original = await AckedMessageAsync(alice, Ope.OneToOne, "bob", "wrong chat");
        var edit = await alice.Client.EditAsync(original.Conv, original.Id, Body("still wrong"));
        await Wait.ForAsync(edit.Acked, "the edit's ack");

        var recall = await alice.Client.RecallAsync(original.Conv, original.Id);
        await Wait.ForAsync(recall.Acked, "the recall's ack");
        foreach (var device in new[] { alice, bob })
            await Wait.UntilAsync(() => device.Events.Any(e => e.Kind == "recalled" && e.Args.Target == original.Id), $"{device.User} applied the recall");

        foreach (var device in new[] { alice, bob })
        {
            var state = device.Client.GetMessageState(original.Conv, original.Id)!;
            Assert.True(state.Recalled);
            Assert.Equal("{}", state.Body!.Value.GetRawText());
            Assert.Equal("alice", device.Events.Single(e => e.Kind == "recalled").Args.By);
        }
        var view = await bob.Client.GetMessageAsync(original.Conv, original.Id);
        Assert.Equal((true, "{}"), (view.Recalled == true, view.Body.GetRawText()));
        Assert.Empty(view.Edits!);
        var late = await alice.Client.EditAsync(original.Conv, original.Id, Body("too late"));
        var refused = await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(late.Acked, "the refusal"));
        Assert.Equal(ErrorCodes.Forbidden, refused.Code);
    }

    [Fact]
    public async Task A_device_that_was_offline_converges_on_the_operations_after_it_reconnects()
    {
        var alice = await ConnectAsync("alice");
        var bobStore = new InMemoryCursorStore();
        var laptop = await ConnectAsync("bob", "laptop", bobStore);
        var original = await AckedMessageAsync(alice, Ope.OneToOne, "bob", "draft");
        await laptop.SurfacedAsync(original.Id);
        await Wait.UntilAsync(() => bobStore.Current?.Seq >= 1, "the laptop's cursor saved");
        await laptop.Client.DisposeAsync();

        foreach (var operation in new[]
        {
            await alice.Client.EditAsync(original.Conv, original.Id, Body("final")),
            await alice.Client.ReactAsync(original.Conv, original.Id, "❤️"),
            await alice.Client.PinAsync(original.Conv, original.Id),
            await alice.Client.PinAsync(original.Conv, original.Id, on: false),
            await alice.Client.PinAsync(original.Conv, original.Id),
        })
        {
            await Wait.ForAsync(operation.Acked, $"{operation}");
        }

        var back = await ConnectAsync("bob", "laptop", bobStore);
        await Wait.UntilAsync(() => back.Events.Count == 5, "the laptop applied the five entries it missed");
        var view = await alice.Client.GetMessageAsync(original.Conv, original.Id);
        Assert.Equal(StateOf(view), StateOf(back.Client.WithCurrentState(original)));
        Assert.Equal(("final", true), (Text(view.Body), view.Pinned == true));
        // The entries came through the inbox (with seq), after the message the laptop already had.
        Assert.All(back.Surfaced, m => Assert.NotNull(m.Seq));
        Assert.DoesNotContain(back.Surfaced, m => m.Id == original.Id);
    }

    [Fact]
    public async Task A_reply_with_mentions_reaches_the_group_and_counts_for_the_mentioned_member_only()
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        var carol = await ConnectAsync("carol");
        var gid = await _server.CreateGroupAsync("alice", "bob", "carol");
        var conv = Identifiers.GroupConversation(gid);
        var question = await AckedMessageAsync(bob, Ope.Group, gid, "who reviews?");

        var reply = await alice.Client.ReplyAsync(conv, question.Id, 1, Body("@carol does"), mentions: ["carol"]);
        var receipt = await Wait.ForAsync(reply.Acked, "the reply's ack");

        await carol.SurfacedAsync(receipt.Id);
        var received = carol.Surfaced.Single(m => m.Id == receipt.Id);
        Assert.Equal((question.Id, "carol"), (received.Reply, string.Join(",", received.Mentions!)));
        var carolsItem = (await carol.Client.ListConversationsAsync()).Items.Single(i => i.Conv == conv);
        var bobsItem = (await bob.Client.ListConversationsAsync()).Items.Single(i => i.Conv == conv);
        Assert.Equal((1L, 0L), (carolsItem.Mentions, bobsItem.Mentions));
        // A mention of a user who is not a member is refused, and so is @all from a plain member.
        var stranger = await alice.Client.SendAsync(Ope.Group, gid, 1, Body("@dave?"), mentions: ["dave"]);
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(stranger.Acked, "the refusal"))).Code);
        var everyone = await bob.Client.SendAsync(Ope.Group, gid, 1, Body("@all!"), mentions: [OperationTypes.MentionAll]);
        Assert.Equal(ErrorCodes.Forbidden, (await Assert.ThrowsAsync<ChatException>(() => Wait.ForAsync(everyone.Acked, "the refusal"))).Code);
    }

    /// <summary>A connected user's client: what it surfaced and the operation events it raised, in order.</summary>
    private sealed class Device
    {
        private readonly ConcurrentQueue<MsgFrame> _surfaced = new();
        private readonly ConcurrentQueue<(string Kind, MessageOperationEventArgs Args)> _events = new();

        public Device(string user, ChatClient client)
        {
            (User, Client) = (user, client);
            client.MessageReceived += (_, m) => _surfaced.Enqueue(m);
            client.MessageEdited += (_, e) => _events.Enqueue(("edited", e));
            client.MessageRecalled += (_, e) => _events.Enqueue(("recalled", e));
            client.ReactionChanged += (_, e) => _events.Enqueue(("reaction", e));
            client.PinChanged += (_, e) => _events.Enqueue(("pin", e));
        }

        public string User { get; }
        public ChatClient Client { get; }
        public List<MsgFrame> Surfaced => [.. _surfaced];
        public List<(string Kind, MessageOperationEventArgs Args)> Events => [.. _events];

        public Task SurfacedAsync(string id) => Wait.UntilAsync(() => _surfaced.Any(m => m.Id == id), $"{User} surfaces message {id}");
    }
}
