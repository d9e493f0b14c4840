using System.Net.Http.Json;
using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Topology;

/// <summary>One topology for the tests that leave it running: two gateways, two DeliveryWorkers, Kafka and Redis stand-ins.</summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public ChatTopology Topology { get; private set; } = null!;

    public async Task InitializeAsync() => Topology = await ChatTopology.StartAsync();

    public async Task DisposeAsync() => await Topology.DisposeAsync();
}

/// <summary>
/// Delivery across gateway nodes: the stages run in the DeliveryWorkers and reach a device through the routing
/// channel of the node that holds it (Redis pub/sub), whichever gateway the sender is on.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class CrossGatewayTests(TopologyFixture fixture) : IClassFixture<TopologyFixture>
{
    private ServiceProcess A => fixture.Topology.Gateways[0];
    private ServiceProcess B => fixture.Topology.Gateways[1];

    private static string Unique(string name) => $"{name}{Guid.NewGuid():n}"[..20];

    [Fact]
    public async Task A_one_to_one_conversation_works_between_users_on_different_gateways()
    {
        var (alice, bob) = (Unique("alice"), Unique("bob"));
        await using var a = await ChatTopology.ConnectAsync(A, alice);
        await using var b = await ChatTopology.ConnectAsync(B, bob);
        Assert.NotEqual(a.Welcome.GetProperty("node").GetString(), b.Welcome.GetProperty("node").GetString());

        await a.SendChatAsync(1, bob, "across");
        var ack = await a.ExpectAsync("ack");
        var msg = await b.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal(1, msg.GetProperty("seq").GetInt64());
        Assert.Equal(1, msg.GetProperty("cseq").GetInt64());
        Assert.Equal("across", msg.GetProperty("body").GetProperty("text").GetString());

        await b.SendChatAsync(1, alice, "and back");
        await b.ExpectAsync("ack");
        // alice's inbox: her own message (seq 1), then bob's answer (seq 2).
        var own = await a.ExpectAsync("msg");
        var answer = await a.ExpectAsync("msg");
        Assert.Equal((1, 2), (own.GetProperty("seq").GetInt64(), answer.GetProperty("seq").GetInt64()));
        Assert.Equal((1, 2), (own.GetProperty("cseq").GetInt64(), answer.GetProperty("cseq").GetInt64()));
        Assert.Equal("and back", answer.GetProperty("body").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Receipts_read_sync_and_typing_travel_between_gateways_like_messages()
    {
        var (alice, bob) = (Unique("alice"), Unique("bob"));
        var conv = $"s:{alice}:{bob}";
        await using var a = await ChatTopology.ConnectAsync(A, alice);
        await using var phone = await ChatTopology.ConnectAsync(B, bob, "phone");
        await using var tablet = await ChatTopology.ConnectAsync(A, bob, "tablet");

        await a.SendChatAsync(1, bob, "seen it?");
        await a.ExpectAsync("ack");
        var msg = await phone.ExpectAsync("msg");
        await tablet.ExpectAsync("msg");

        // bob's phone (gateway B) acknowledges: alice (gateway A) hears it was delivered.
        await phone.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        var delivered = await a.ExpectAsync("receipt");
        Assert.Equal((conv, bob, 1L), (delivered.GetProperty("conv").GetString(), delivered.GetProperty("user").GetString(), delivered.GetProperty("delivered").GetInt64()));

        // bob reads it on his phone: his tablet on the other gateway clears it, alice gets the read receipt.
        await phone.SendAsync(new { t = "read", conv, cseq = 1 });
        var read = await tablet.ExpectAsync("read");
        Assert.Equal((conv, 1L), (read.GetProperty("conv").GetString(), read.GetProperty("cseq").GetInt64()));
        var seen = await a.ExpectAsync("receipt");
        Assert.Equal((1L, 1L), (seen.GetProperty("delivered").GetInt64(), seen.GetProperty("read").GetInt64()));

        // Typing from gateway A reaches bob's devices on both gateways, and is not echoed to alice.
        await a.SendAsync(new { t = "typing", conv });
        foreach (var device in new[] { phone, tablet })
        {
            var typing = await device.ExpectAsync("typing");
            Assert.Equal((conv, alice), (typing.GetProperty("conv").GetString(), typing.GetProperty("user").GetString()));
        }
        // Not echoed: alice's typing was relayed (published) while her frame was handled, so before her pong; bob's
        // typing, published after it to the same gateway's channel, is the first typing alice gets.
        await a.AssertNoneBeforePongAsync("typing");
        await phone.SendAsync(new { t = "typing", conv });
        var fromBob = await a.ExpectAsync("typing");
        Assert.Equal((conv, bob), (fromBob.GetProperty("conv").GetString(), fromBob.GetProperty("user").GetString()));
    }

    [Fact]
    public async Task A_small_group_message_reaches_members_on_both_gateways_in_one_order()
    {
        var (alice, bob, carol) = (Unique("alice"), Unique("bob"), Unique("carol"));
        var gid = await CreateGroupAsync(A, alice, bob, carol);
        await using var a = await ChatTopology.ConnectAsync(A, alice);
        await using var b = await ChatTopology.ConnectAsync(B, bob);
        await using var c = await ChatTopology.ConnectAsync(A, carol);

        await a.SendChatAsync(1, gid, "from a", ope: 1);
        await b.SendChatAsync(1, gid, "from b", ope: 1);
        var orders = new List<List<string>>();
        foreach (var (member, acks) in new[] { (a, 1), (b, 1), (c, 0) })
        {
            var (acked, chat) = await CollectAsync(member, acks, 2);
            Assert.Equal(acks, acked.Count);
            Assert.All(chat, m => Assert.True(m.TryGetProperty("seq", out _), "write diffusion: inbox entries carry seq"));
            orders.Add([.. chat.Select(m => m.GetProperty("id").GetString()!)]);
        }
        Assert.Equal(orders[0], orders[1]);
        Assert.Equal(orders[0], orders[2]);
    }

    [Fact]
    public async Task A_large_group_notice_reaches_online_members_on_every_gateway()
    {
        // Above Groups:WriteDiffusionLimit (3 here): read diffusion, one notice per gateway node.
        var users = Enumerable.Range(0, 5).Select(i => Unique($"m{i}")).ToArray();
        var gid = await CreateGroupAsync(A, users[0], users[1..]);
        await using var onA = await ChatTopology.ConnectAsync(A, users[1]);
        await using var onB = await ChatTopology.ConnectAsync(B, users[2]);
        await using var sender = await ChatTopology.ConnectAsync(B, users[0]);

        await sender.SendChatAsync(1, gid, "to many", ope: 1);
        var ack = await sender.ExpectAsync("ack");
        foreach (var member in new[] { onA, onB })
        {
            var msg = (await ChatMessagesAsync(member, 1))[0];
            Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
            Assert.False(msg.TryGetProperty("seq", out _), "read diffusion: a large-group message has no inbox seq");
        }
    }

    [Fact]
    public async Task A_users_devices_on_different_gateways_both_get_the_conversation()
    {
        var (alice, bob) = (Unique("alice"), Unique("bob"));
        await using var phone = await ChatTopology.ConnectAsync(A, alice, "phone");
        await using var laptop = await ChatTopology.ConnectAsync(B, alice, "laptop");
        await using var b = await ChatTopology.ConnectAsync(A, bob);

        await phone.SendChatAsync(1, bob, "sent from the phone");
        var ack = await phone.ExpectAsync("ack");
        // The sender's other device gets it through her own inbox, on the other node.
        var mirrored = await laptop.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), mirrored.GetProperty("id").GetString());
        await b.ExpectAsync("msg");

        await b.SendChatAsync(1, alice, "to both devices");
        var answer = (await b.ExpectAsync("ack")).GetProperty("id").GetString();
        Assert.Equal(answer, (await NextChatAsync(phone, ack.GetProperty("id").GetString()!)).GetProperty("id").GetString());
        Assert.Equal(answer, (await laptop.ExpectAsync("msg")).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_device_that_reconnects_to_the_other_gateway_gets_its_unacknowledged_entries_there()
    {
        var (alice, bob) = (Unique("alice"), Unique("bob"));
        await using var a = await ChatTopology.ConnectAsync(A, alice);
        var ids = new List<string>();
        await using (var first = await ChatTopology.ConnectAsync(A, bob))
        {
            for (var req = 1; req <= 3; req++) await a.SendChatAsync(req, bob, $"m{req}");
            foreach (var ack in await a.ExpectManyAsync("ack", 3)) ids.Add(ack.GetProperty("id").GetString()!);
            // Received on node a, never acknowledged.
            await first.ExpectManyAsync("msg", 3);
        }

        await using var again = await ChatTopology.ConnectAsync(B, bob);
        var resumed = await again.ExpectManyAsync("msg", 3);
        Assert.Equal(ids, resumed.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal([1L, 2L, 3L], resumed.Select(m => m.GetProperty("seq").GetInt64()));
        Assert.Equal("gw-b", again.Welcome.GetProperty("node").GetString());
    }

    internal static async Task<string> CreateGroupAsync(ServiceProcess gateway, string owner, params string[] members)
    {
        using var http = new HttpClient { BaseAddress = gateway.Address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/groups") { Content = JsonContent.Create(new { name = "g", members }) };
        request.Headers.Authorization = new("Bearer", await ChatTopology.TokenAsync(gateway, owner));
        using var created = await http.SendAsync(request);
        created.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("gid").GetString()!;
    }

    /// <summary>The next <paramref name="count"/> chat messages, skipping system messages (membership events, type &lt; 0).</summary>
    internal static async Task<List<JsonElement>> ChatMessagesAsync(TestSocket socket, int count)
    {
        var chat = new List<JsonElement>();
        while (chat.Count < count)
        {
            var msg = await socket.ExpectAsync("msg");
            if (msg.GetProperty("type").GetInt32() >= 0) chat.Add(msg);
        }
        return chat;
    }

    /// <summary>
    /// Reads until <paramref name="acks"/> acks and <paramref name="chats"/> distinct chat messages arrived, in arrival
    /// order; a retransmission (a message already held) is dropped, as a client drops it.
    /// </summary>
    internal static async Task<(List<JsonElement> Acks, List<JsonElement> Chats)> CollectAsync(TestSocket socket, int acks, int chats)
    {
        var (acked, chat) = (new List<JsonElement>(), new List<JsonElement>());
        var held = new HashSet<string>();
        while (acked.Count < acks || chat.Count < chats)
        {
            var frame = await socket.ReceiveAsync();
            switch (frame.GetProperty("t").GetString())
            {
                case "ack": acked.Add(frame); break;
                case "msg" when frame.GetProperty("type").GetInt32() >= 0 && held.Add(frame.GetProperty("id").GetString()!): chat.Add(frame); break;
            }
        }
        return (acked, chat);
    }

    private static async Task<JsonElement> NextChatAsync(TestSocket socket, string skipId)
    {
        while (true)
        {
            var msg = await socket.ExpectAsync("msg");
            if (msg.GetProperty("id").GetString() != skipId) return msg;
        }
    }
}

/// <summary>The topology tests run one at a time: each starts several processes on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class TopologyCollection
{
    public const string Name = "Topology";
}
