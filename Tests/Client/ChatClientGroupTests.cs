using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace AspireChat.Tests.Client;

/// <summary>The client SDK's group handling against the scripted fake server: cursors, gsync gap filling, group acks.</summary>
public sealed class ChatClientGroupTests : IAsyncLifetime
{
    private FakeChatServer _server = null!;
    private readonly List<ChatClient> _clients = [];

    public async Task InitializeAsync() => _server = await FakeChatServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private ChatClient NewClient(ICursorStore store, TimeProvider? time = null, int ackBatchSize = 100, TimeSpan? ackBatchDelay = null)
    {
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.Uri,
            TokenProvider = _ => ValueTask.FromResult("token-alice"),
            Device = "phone",
            CursorStore = store,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
            ReconnectJitter = 0,
            AckBatchSize = ackBatchSize,
            AckBatchDelay = ackBatchDelay ?? TimeSpan.FromMilliseconds(50),
            TimeProvider = time ?? TimeProvider.System,
        });
        _clients.Add(client);
        return client;
    }

    private async Task<FakeConnection> ConnectionAsync(int number)
    {
        await Wait.UntilAsync(() => _server.Connections.Count >= number && _server.Connections[number - 1].Hello is not null,
            $"connection {number} says hello");
        return _server.Connections[number - 1];
    }

    private static async Task<List<long>> ReadCseqsAsync(ChatClient client, int count)
    {
        var cseqs = new List<long>();
        for (var i = 0; i < count; i++) cseqs.Add((await Wait.ReadAsync(client.Messages, $"message {i + 1}")).Cseq);
        return cseqs;
    }

    [Fact]
    public async Task A_cseq_gap_in_a_large_group_is_filled_with_gsync_and_the_group_surfaces_in_cseq_order()
    {
        var store = new InMemoryCursorStore(new CursorState { Groups = new() { ["g1"] = 4 } });
        var client = NewClient(store);
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        Assert.Equal(new Dictionary<string, long> { ["g1"] = 4 }, connection.Hello!.Groups);
        var timeline = Enumerable.Range(5, 3).Select(cseq => _server.AddToGroup("g1", cseq)).ToList();

        await connection.PushAsync(timeline[0], timeline[2]); // holds 5, gets 7

        Assert.Equal([5, 6, 7], await ReadCseqsAsync(client, 3));
        Assert.Contains(_server.Frames<GsyncFrame>(FrameTypes.Gsync), g => g.Group == "g1" && g.After == 5);
        Assert.All(_server.Frames<GsyncFrame>(FrameTypes.Gsync), g => Assert.True(g.After >= 5, $"gsync asked again from {g.After}"));

        // 6 and 7 again (a late push) are dropped; 8 is next.
        await connection.PushAsync(timeline[1], timeline[2], _server.AddToGroup("g1", 8));
        Assert.Equal([8], await ReadCseqsAsync(client, 1));
        Assert.Equal(8, client.GroupCursors["g1"]);

        connection.Abort();
        var second = await ConnectionAsync(2);
        Assert.Equal(8, second.Hello!.Groups!["g1"]);
    }

    [Fact]
    public async Task Group_acks_are_per_group_cumulative_and_batched_and_the_cursor_is_saved()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z"));
        _server.Heartbeat = 0;
        var store = new InMemoryCursorStore();
        var client = NewClient(store, time, ackBatchSize: 4, ackBatchDelay: TimeSpan.FromSeconds(1));
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        List<(string?, long?)> GroupAcks() => _server.Frames<AckFrame>(FrameTypes.Ack).Where(a => a.Group is not null).Select(a => (a.Group, a.Cseq)).ToList();

        for (var cseq = 1; cseq <= 4; cseq++)
        {
            await connection.PushAsync(_server.AddToGroup("g1", cseq));
            Assert.Equal(cseq, (await Wait.ReadAsync(client.Messages, $"cseq {cseq}")).Cseq);
        }
        await Wait.UntilAsync(() => GroupAcks().Count >= 1, "the group ack of a full batch");
        Assert.Equal([("g1", 4L)], GroupAcks());
        Assert.DoesNotContain(_server.Frames<AckFrame>(FrameTypes.Ack), a => a.Seq is not null);

        for (var cseq = 5; cseq <= 6; cseq++)
        {
            await connection.PushAsync(_server.AddToGroup("g1", cseq));
            Assert.Equal(cseq, (await Wait.ReadAsync(client.Messages, $"cseq {cseq}")).Cseq);
        }
        Assert.Equal([("g1", 4L)], GroupAcks()); // a part batch waits for AckBatchDelay, and the fake clock has not moved

        time.Advance(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => GroupAcks().Count == 2, "the group ack after the batch delay");
        Assert.Equal([("g1", 4L), ("g1", 6L)], GroupAcks());
        await Wait.UntilAsync(() => store.Current?.Groups?.GetValueOrDefault("g1") == 6, "the group cursor saved after the ack");
    }

    [Fact]
    public async Task An_inbox_message_held_behind_a_group_gap_holds_the_inbox_ack_until_the_gap_is_filled()
    {
        var store = new InMemoryCursorStore(new CursorState { Seq = 0, Groups = new() { ["g1"] = 0 } });
        var client = NewClient(store);
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        List<long?> InboxAcks() => _server.Frames<AckFrame>(FrameTypes.Ack).Where(a => a.Seq is not null).Select(a => a.Seq).ToList();

        // Small group: 1 and 2 through the inbox. Large for a while: 3 pushed, 4 never arrives. Small again: 5 through the inbox.
        _server.AddToGroup("g1", 1);
        _server.AddToGroup("g1", 2);
        _server.AddToGroup("g1", 3);
        await connection.PushAsync(FakeChatServer.GroupMessage("g1", 1, seq: 1), FakeChatServer.GroupMessage("g1", 2, seq: 2),
            FakeChatServer.GroupMessage("g1", 3), FakeChatServer.GroupMessage("g1", 5, seq: 3));
        Assert.Equal([1, 2, 3], await ReadCseqsAsync(client, 3));
        await Wait.UntilAsync(() => InboxAcks().Contains(2), "the inbox ack up to seq 2");
        await Wait.UntilAsync(() => _server.Frames<GsyncFrame>(FrameTypes.Gsync).Any(g => g.After == 3), "a gsync for the gap after cseq 3");
        Assert.Equal(2, client.Cursor);
        Assert.DoesNotContain(3L, InboxAcks());

        // The timeline gets cseq 4 and 5: the next gsync fills the gap, and seq 3 may be acknowledged.
        _server.AddToGroup("g1", 4);
        _server.AddToGroup("g1", 5);
        var rest = new[] { await Wait.ReadAsync(client.Messages, "cseq 4"), await Wait.ReadAsync(client.Messages, "cseq 5") };
        Assert.Equal([4L, 5L], rest.Select(m => m.Cseq));
        Assert.Equal(3, rest[1].Seq);
        await Wait.UntilAsync(() => InboxAcks().Contains(3), "the inbox ack of seq 3");
        Assert.Equal(3, client.Cursor);
        Assert.Equal(5, client.GroupCursors["g1"]);
    }

    [Fact]
    public async Task A_gsync_the_server_refuses_releases_what_the_group_held_and_fails_nothing_else()
    {
        var store = new InMemoryCursorStore(new CursorState { Groups = new() { ["gone"] = 1 } });
        var client = NewClient(store);
        await client.ConnectAsync();
        var connection = await ConnectionAsync(1);
        for (var seq = 1; seq <= 3; seq++) _server.AddToInbox(seq);

        // No timeline for "gone": the fake answers its gsync with not_found, which must not be taken for the sync's answer.
        await connection.PushAsync(FakeChatServer.GroupMessage("gone", 3));
        var page = await client.SyncAsync(after: 0, limit: 10);

        Assert.Equal([1L, 2L, 3L], page.Items.Select(m => m.Seq!.Value));
        var surfaced = new List<MsgFrame>();
        for (var i = 0; i < 4; i++) surfaced.Add(await Wait.ReadAsync(client.Messages, $"message {i + 1}"));
        Assert.Equal(3, surfaced.Single(m => m.Conv == "g:gone").Cseq);
        Assert.Equal([1L, 2L, 3L], surfaced.Where(m => m.Seq is not null).Select(m => m.Seq!.Value));
        Assert.Equal(3, client.GroupCursors["gone"]);
    }

    [Fact]
    public async Task GsyncAsync_returns_the_page_and_surfaces_only_what_is_new()
    {
        var store = new InMemoryCursorStore(new CursorState { Groups = new() { ["g1"] = 2 } });
        var client = NewClient(store);
        await client.ConnectAsync();
        for (var cseq = 1; cseq <= 4; cseq++) _server.AddToGroup("g1", cseq);

        var page = await client.GsyncAsync("g1", after: 0, limit: 3);

        Assert.Equal([1L, 2L, 3L], page.Items.Select(m => m.Cseq));
        Assert.True(page.More);
        Assert.Equal(3, page.Next);
        Assert.Equal(3, (await Wait.ReadAsync(client.Messages, "cseq 3")).Cseq);
        Assert.Equal(3, client.GroupCursors["g1"]);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GsyncAsync("not valid!", 0, 10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GsyncAsync("g1", 0, 501));
    }
}
