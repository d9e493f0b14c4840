using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>Runs against both compositions of the stages: <see cref="EmbeddedOneToOneTests"/> and <see cref="DistributedOneToOneTests"/>.</summary>
public abstract class OneToOneTests
{
    /// <summary>The settings that choose the composition.</summary>
    protected abstract IDictionary<string, string?> Composition { get; }

    /// <summary>Whether a send's ack carries the sender's own inbox seq — and the sending device is then not pushed its message.</summary>
    protected abstract bool AckCarriesOwnSeq { get; }

    private Task<GatewayServer> StartServerAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(Composition);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return GatewayServer.StartAsync(all);
    }

    [Fact]
    public async Task Online_recipient_gets_the_message_and_the_sender_gets_an_ack()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        await alice.SendChatAsync(1, "bob", "hi bob");
        var ack = await alice.ExpectAsync("ack");
        Assert.Equal(1, ack.GetProperty("req").GetInt64());
        Assert.Equal(JsonValueKind.String, ack.GetProperty("id").ValueKind);
        Assert.Equal("s:alice:bob", ack.GetProperty("conv").GetString());

        var msg = await bob.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal("alice", msg.GetProperty("from").GetString());
        Assert.Equal("hi bob", msg.GetProperty("body").GetProperty("text").GetString());
        Assert.Equal(1, msg.GetProperty("seq").GetInt64());
        Assert.Equal(1, msg.GetProperty("cseq").GetInt64());
    }

    [Fact]
    public async Task Retransmitted_send_returns_the_original_id_and_creates_no_second_message()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        await alice.SendChatAsync(7, "bob", "once");
        var first = await alice.ExpectAsync("ack");
        await alice.SendChatAsync(7, "bob", "once");
        var second = await alice.ExpectAsync("ack");

        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("ts").GetInt64(), second.GetProperty("ts").GetInt64());
        var msg = await bob.ExpectAsync("msg");
        Assert.Equal(first.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() }); // no ack-timeout re-push of it below
        await bob.SendAsync(new { t = "ping" });
        await bob.ExpectAsync("pong");

        // A second message made by the retransmission would sit in bob's inbox before anything sent after it (the
        // inbox is ordered by seq): the next msg bob gets must be the later send's.
        await alice.SendChatAsync(8, "bob", "later");
        var later = await alice.ExpectAsync("ack");
        var next = await bob.ExpectAsync("msg");
        Assert.Equal((later.GetProperty("id").GetString(), 2L), (next.GetProperty("id").GetString(), next.GetProperty("seq").GetInt64()));

        var history = await HistoryAsync(server, "alice", "s:alice:bob");
        Assert.Equal(new[] { first.GetProperty("id").GetString(), later.GetProperty("id").GetString() }.Order(StringComparer.Ordinal),
            history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Offline_recipient_gets_everything_after_its_cursor_in_order_with_contiguous_seq()
    {
        await using var server = await StartServerAsync();
        await using (var bobFirst = await server.ConnectAsync("bob", cursor: 0))
        {
            Assert.Equal(0, bobFirst.Welcome.GetProperty("head").GetInt64());
        }
        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 20; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 20);
        // An ack means durable, not yet in bob's inbox: wait for stage 2 before reading the welcome's head.
        await server.WaitForInboxHeadAsync("bob", 20);

        await using var bob = await server.ConnectAsync("bob", cursor: 5);
        Assert.Equal(20, bob.Welcome.GetProperty("head").GetInt64());
        var msgs = await bob.ExpectManyAsync("msg", 15);
        Assert.Equal(Enumerable.Range(6, 15).Select(i => (long)i), msgs.Select(m => m.GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(6, 15).Select(i => $"m{i}"), msgs.Select(m => m.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Device_without_a_cursor_resumes_from_the_cursor_its_acks_recorded()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using (var bob = await server.ConnectAsync("bob", "phone"))
        {
            for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
            await bob.ExpectManyAsync("msg", 3);
            await bob.SendAsync(new { t = "ack", seq = 2 });
            await bob.SendAsync(new { t = "ping" });
            await bob.ExpectAsync("pong");
        }
        await using var again = await server.ConnectAsync("bob", "phone");
        var msg = await again.ExpectAsync("msg");
        Assert.Equal(3, msg.GetProperty("seq").GetInt64());
        await again.SendAsync(new { t = "ack", seq = 3 });
        // Nothing else of the inbox comes again: the next msg is the next message, seq 4.
        await alice.SendChatAsync(4, "bob", "m4");
        var next = await again.ExpectAsync("msg");
        Assert.Equal((4L, "m4"), (next.GetProperty("seq").GetInt64(), next.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Sync_pages_the_inbox_with_next_and_more()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 7; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 7);
        await using var bob = await server.ConnectAsync("bob");
        await server.WaitForInboxHeadAsync("bob", 7);

        await bob.SendAsync(new { t = "sync", after = 0, limit = 3 });
        var page1 = await bob.ExpectAsync("sync");
        Assert.Equal([1L, 2, 3], page1.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("seq").GetInt64()));
        Assert.Equal(3, page1.GetProperty("next").GetInt64());
        Assert.True(page1.GetProperty("more").GetBoolean());

        await bob.SendAsync(new { t = "sync", after = 6, limit = 3 });
        var last = await bob.ExpectAsync("sync");
        Assert.Equal([7L], last.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("seq").GetInt64()));
        Assert.False(last.GetProperty("more").GetBoolean());

        await bob.SendAsync(new { t = "sync", after = 7, limit = 3 });
        var empty = await bob.ExpectAsync("sync");
        Assert.Empty(empty.GetProperty("items").EnumerateArray());
        Assert.Equal(7, empty.GetProperty("next").GetInt64());
        Assert.False(empty.GetProperty("more").GetBoolean());
    }

    [Fact]
    public async Task Unacknowledged_msg_is_pushed_again_after_the_ack_timeout_with_the_same_seq()
    {
        await using var server = await StartServerAsync(new Dictionary<string, string?>
        {
            ["Delivery:AckTimeout"] = "00:00:00.300",
            ["Delivery:RetryInterval"] = "00:00:00.050",
        });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.SendChatAsync(1, "bob", "are you there?");

        var first = await bob.ExpectAsync("msg");
        var again = await bob.ExpectAsync("msg", TimeSpan.FromSeconds(5));
        Assert.Equal(first.GetProperty("seq").GetInt64(), again.GetProperty("seq").GetInt64());
        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());

        await bob.SendAsync(new { t = "ack", seq = first.GetProperty("seq").GetInt64() });
        await bob.SendAsync(new { t = "ping" });
        await bob.ExpectAsync("pong");

        // Acknowledged, seq 1 is not pushed again. A later entry left unacknowledged is pushed after it and so, on the
        // same backoff, falls due after it at every attempt: its third push comes after seq 1's third would have.
        await alice.SendChatAsync(2, "bob", "and now?");
        var later = await bob.ExpectManyAsync("msg", 3);
        Assert.Equal([2L, 2L, 2L], later.Select(m => m.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task A_users_second_device_receives_what_the_first_device_sent()
    {
        await using var server = await StartServerAsync();
        await using var phone = await server.ConnectAsync("alice", "phone");
        await using var laptop = await server.ConnectAsync("alice", "laptop");
        await using var bob = await server.ConnectAsync("bob");

        await phone.SendChatAsync(1, "bob", "from my phone");
        var ack = await phone.ExpectAsync("ack");
        var onLaptop = await laptop.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), onLaptop.GetProperty("id").GetString());
        Assert.Equal("alice", onLaptop.GetProperty("from").GetString());
        Assert.Equal("bob", onLaptop.GetProperty("to").GetString());
        await bob.ExpectAsync("msg");
    }

    [Fact]
    public async Task The_sending_device_gets_its_own_message_once_and_its_other_device_by_msg()
    {
        await using var server = await StartServerAsync();
        await using var phone = await server.ConnectAsync("alice", "phone");
        await using var laptop = await server.ConnectAsync("alice", "laptop");
        await using var bob = await server.ConnectAsync("bob");

        await phone.SendChatAsync(1, "bob", "mine");
        var ack = await phone.ExpectAsync("ack");
        var onLaptop = await laptop.ExpectPushAsync();
        var seq = onLaptop.GetProperty("seq").GetInt64();
        Assert.Equal(ack.GetProperty("id").GetString(), onLaptop.GetProperty("id").GetString());
        await bob.ExpectPushAsync();

        // bob's reply is the next entry of alice's inbox, and a device is pushed its inbox in seq order: had the phone been
        // pushed its own message, that msg would come before the reply.
        await bob.SendChatAsync(1, "alice", "reply");
        if (AckCarriesOwnSeq)
        {
            Assert.Equal((seq, onLaptop.GetProperty("cseq").GetInt64()), (ack.GetProperty("seq").GetInt64(), ack.GetProperty("cseq").GetInt64()));
            var next = await phone.ExpectPushAsync();
            Assert.Equal((seq + 1, "reply"), (next.GetProperty("seq").GetInt64(), next.GetProperty("body").GetProperty("text").GetString()));
        }
        else
        {
            Assert.False(ack.TryGetProperty("seq", out _), "the distributed composition acknowledges before the inbox entry exists");
            var echo = await phone.ExpectPushAsync();
            Assert.Equal((seq, ack.GetProperty("id").GetString()), (echo.GetProperty("seq").GetInt64(), echo.GetProperty("id").GetString()));
            Assert.Equal(seq + 1, (await phone.ExpectPushAsync()).GetProperty("seq").GetInt64());
        }

        // Either way the entry is in the inbox: sync returns it.
        await phone.SendAsync(new { t = "sync", after = seq - 1, limit = 10 });
        var page = await phone.ExpectAsync("sync");
        var first = page.GetProperty("items")[0];
        Assert.Equal((seq, ack.GetProperty("id").GetString(), "mine"),
            (first.GetProperty("seq").GetInt64(), first.GetProperty("id").GetString(), first.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Pipelined_burst_of_1000_sends_arrives_complete_in_send_order_with_contiguous_sequences()
    {
        await using var server = await StartServerAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        const int count = 1000;
        for (var req = 1; req <= count; req++) await alice.SendChatAsync(req, "bob", $"m{req}");

        var received = new List<JsonElement>();
        while (received.Count < count)
        {
            var msg = await bob.ExpectAsync("msg", TimeSpan.FromSeconds(30));
            received.Add(msg);
            if (received.Count % 100 == 0) await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });
        }
        var texts = received.Select(m => m.GetProperty("body").GetProperty("text").GetString()).ToList();
        var firstWrong = Enumerable.Range(0, count).FirstOrDefault(i => texts[i] != $"m{i + 1}", -1);
        Assert.True(firstWrong < 0, firstWrong < 0 ? "" : string.Join(" ", received.Skip(Math.Max(0, firstWrong - 3)).Take(8).Select(m => $"{m.GetProperty("body").GetProperty("text").GetString()}/seq{m.GetProperty("seq")}/cseq{m.GetProperty("cseq")}")));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), received.Select(m => m.GetProperty("cseq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), received.Select(m => m.GetProperty("seq").GetInt64()));
        var acks = await alice.ExpectManyAsync("ack", count, TimeSpan.FromSeconds(30));
        Assert.Equal(count, acks.Select(a => a.GetProperty("req").GetInt64()).Distinct().Count());
    }

    internal static async Task<JsonElement> HistoryAsync(GatewayServer server, string user, string conv, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{conv}/messages{query}");
        request.Headers.Authorization = new("Bearer", await server.TokenAsync(user));
        using var response = await server.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}

/// <summary>Stages 0–2 in one write per batch (the embedded default).</summary>
public sealed class EmbeddedOneToOneTests : OneToOneTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();

    protected override bool AckCarriesOwnSeq => true;

    [Fact]
    public async Task A_device_that_acknowledges_the_seq_of_its_send_is_not_pushed_that_entry_after_a_reconnect()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var bob = await server.ConnectAsync("bob");
        long seq;
        await using (var phone = await server.ConnectAsync("alice", "phone"))
        {
            // An entry pushed before the send, so the cumulative ack covers a msg and the ack's own entry.
            await bob.SendChatAsync(1, "alice", "hello alice");
            var pushed = await phone.ExpectPushAsync();
            await phone.SendChatAsync(1, "bob", "hi bob");
            seq = (await phone.ExpectAsync("ack")).GetProperty("seq").GetInt64();
            Assert.Equal(pushed.GetProperty("seq").GetInt64() + 1, seq);
            await phone.SendAsync(new { t = "ack", seq });
            await phone.SendAsync(new { t = "ping" });
            await phone.ExpectBeforeAsync("pong", "msg");
        }

        // Without a cursor the server resumes after the one the phone's ack recorded: nothing of its inbox comes again,
        // the next msg is the next message.
        await using var again = await server.ConnectAsync("alice", "phone");
        await bob.SendChatAsync(2, "alice", "still there?");
        var next = await again.ExpectPushAsync();
        Assert.Equal((seq + 1, "still there?"), (next.GetProperty("seq").GetInt64(), next.GetProperty("body").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task A_device_that_ignores_the_seq_of_its_ack_gets_that_entry_with_its_next_hello()
    {
        await using var server = await GatewayServer.StartAsync();
        string id;
        long seq;
        await using (var phone = await server.ConnectAsync("alice", "phone"))
        {
            await phone.SendChatAsync(1, "bob", "hi bob");
            var ack = await phone.ExpectAsync("ack");
            (id, seq) = (ack.GetProperty("id").GetString()!, ack.GetProperty("seq").GetInt64());
            // No ack of it: to this client the entry is not held. Its cursor on the server stays before it.
            await phone.SendAsync(new { t = "ping" });
            await phone.ExpectBeforeAsync("pong", "msg");
        }

        await using (var again = await server.ConnectAsync("alice", "phone"))
        {
            var backlog = await again.ExpectPushAsync();
            Assert.Equal((seq, id), (backlog.GetProperty("seq").GetInt64(), backlog.GetProperty("id").GetString()));
        }
        // The same with the cursor the client keeps itself.
        await using var withCursor = await server.ConnectAsync("alice", "phone", cursor: seq - 1);
        var resent = await withCursor.ExpectPushAsync();
        Assert.Equal((seq, id), (resent.GetProperty("seq").GetInt64(), resent.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_device_that_ignores_the_seq_of_its_ack_is_pushed_that_entry_after_the_ack_timeout()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Delivery:AckTimeout"] = "00:00:00.300",
            ["Delivery:RetryInterval"] = "00:00:00.050",
        });
        await using var phone = await server.ConnectAsync("alice", "phone");
        await phone.SendChatAsync(1, "bob", "hi bob");
        var ack = await phone.ExpectAsync("ack");
        // The ack stood for the push: the entry is pending like a pushed one, and pushed as a msg once its deadline passes.
        var repushed = await phone.ExpectPushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((ack.GetProperty("seq").GetInt64(), ack.GetProperty("id").GetString()),
            (repushed.GetProperty("seq").GetInt64(), repushed.GetProperty("id").GetString()));
        Assert.Equal("hi bob", repushed.GetProperty("body").GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_retransmitted_send_is_answered_with_the_same_seq_and_pushes_nothing_to_its_device()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var phone = await server.ConnectAsync("alice", "phone");
        await phone.SendChatAsync(7, "bob", "once");
        var first = await phone.ExpectAsync("ack");
        await phone.SendChatAsync(7, "bob", "once");
        var second = await phone.ExpectAsync("ack");
        Assert.Equal((first.GetProperty("id").GetString(), first.GetProperty("seq").GetInt64()),
            (second.GetProperty("id").GetString(), second.GetProperty("seq").GetInt64()));
        await phone.SendAsync(new { t = "ping" });
        await phone.ExpectBeforeAsync("pong", "msg");
    }
}

/// <summary>The embedded composition with every upgrade served through Kestrel's HTTP pipeline (<c>Gateway:DirectUpgrade</c> off, decision 0020).</summary>
public sealed class EmbeddedOneToOneThroughKestrelTests : OneToOneTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Gateway:DirectUpgrade"] = "false" };

    protected override bool AckCarriesOwnSeq => true;
}

/// <summary>Stage 0 to the log, stages 1 and 2 as its consumers — the distributed composition's code, over the in-process log.</summary>
public sealed class DistributedOneToOneTests : OneToOneTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };

    protected override bool AckCarriesOwnSeq => false;
}
