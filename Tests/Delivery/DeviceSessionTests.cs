using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// A device's protocol state, without a socket: what its hello decides (cursor, first-hello record, pending reset, backlog),
/// how acks refill its window, and that its inbox reaches the transport in <c>seq</c> order through one path.
/// </summary>
public sealed class DeviceSessionTests
{
    private static byte[] Frame(object frame) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(frame);

    [Fact]
    public async Task A_new_device_starts_at_the_inbox_head_and_its_first_hello_records_that_cursor()
    {
        await using var node = await SessionNode.StartAsync();
        await node.AppendAsync("bob", 3);

        var (_, transport) = await node.WelcomeAsync("bob", "tablet");

        var welcome = transport.Frames[0];
        Assert.Equal("welcome", welcome.GetProperty("t").GetString());
        Assert.Equal(3, welcome.GetProperty("head").GetInt64());
        Assert.Equal("node-1", welcome.GetProperty("node").GetString());
        Assert.Empty(transport.Seqs);
        Assert.Equal(3, await node.Cursors.GetAsync("bob", "tablet"));
    }

    [Fact]
    public async Task A_known_device_resumes_after_its_recorded_cursor_and_a_cursor_past_the_head_is_taken_as_the_head()
    {
        await using var node = await SessionNode.StartAsync();
        await node.AppendAsync("bob", 2);
        var (first, _) = await node.WelcomeAsync("bob");
        await first.LeaveAsync();
        await node.AppendAsync("bob", 3);

        var (again, resumed) = await node.WelcomeAsync("bob");
        Assert.Equal([3L, 4L, 5L], resumed.Seqs);
        await again.LeaveAsync();

        var (_, ahead) = await node.WelcomeAsync("bob", cursor: 99);
        Assert.Empty(ahead.Seqs);
        Assert.Equal(5, ahead.Frames[0].GetProperty("head").GetInt64());
    }

    [Fact]
    public async Task The_backlog_is_limited_by_the_window_and_each_ack_lets_the_next_entries_through_in_order()
    {
        await using var node = await SessionNode.StartAsync(window: 2);
        await node.AppendAsync("bob", 5);

        var (session, transport) = await node.WelcomeAsync("bob", cursor: 0);
        Assert.Equal([1L, 2L], transport.Seqs);

        await session.HandleAsync(Frame(new { t = "ack", seq = 1 }));
        Assert.Equal([1L, 2L, 3L], transport.Seqs);
        await session.HandleAsync(Frame(new { t = "ack", seq = 3 }));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], transport.Seqs);
        Assert.Equal(2, node.Pending.Count);
    }

    [Fact]
    public async Task A_live_entry_is_written_once_and_its_late_live_copy_after_a_refill_wrote_it_is_dropped()
    {
        await using var node = await SessionNode.StartAsync();
        var (session, transport) = await node.WelcomeAsync("bob");

        var entries = await node.AppendAsync("bob", 2);
        Assert.True(session.TryPush([entries[0]]));
        // The ack's refill reads the store's head and writes entry 2 before its live copy arrives.
        await session.HandleAsync(Frame(new { t = "ack", seq = 1 }));
        Assert.True(session.TryPush([entries[1]]));

        Assert.Equal([1L, 2L], transport.Seqs);
    }

    [Fact]
    public async Task A_re_push_past_its_deadline_is_written_again_because_the_device_has_not_acknowledged_it()
    {
        await using var node = await SessionNode.StartAsync();
        var (session, transport) = await node.WelcomeAsync("bob");
        var entries = await node.AppendAsync("bob", 1);

        Assert.True(session.TryPush(entries));
        Assert.True(session.TryPush(entries, redelivery: true));

        Assert.Equal([1L, 1L], transport.Seqs);
    }

    [Fact]
    public async Task A_live_entry_after_a_gap_brings_the_missing_entries_from_the_store_first()
    {
        await using var node = await SessionNode.StartAsync();
        var (session, transport) = await node.WelcomeAsync("bob");
        var entries = await node.AppendAsync("bob", 3);

        // Entries 1 and 2 were never routed here (say, the device's node changed while they were sequenced).
        Assert.True(session.TryPush([entries[2]]));

        Assert.Equal([1L, 2L, 3L], transport.Seqs);
    }

    [Fact]
    public async Task A_live_entry_the_window_has_no_room_for_waits_for_the_next_ack()
    {
        await using var node = await SessionNode.StartAsync(window: 1);
        var (session, transport) = await node.WelcomeAsync("bob");
        var entries = await node.AppendAsync("bob", 2);

        Assert.True(session.TryPush([entries[0]]));
        Assert.True(session.TryPush([entries[1]]));
        Assert.Equal([1L], transport.Seqs);

        await session.HandleAsync(Frame(new { t = "ack", seq = 1 }));
        Assert.Equal([1L, 2L], transport.Seqs);
    }

    [Fact]
    public async Task An_ack_of_everything_handed_over_asks_the_pending_acks_nothing_more_to_claim()
    {
        var gated = default(GatedPendingAcks);
        await using var node = await SessionNode.StartAsync(window: 10, pending: inner => gated = new GatedPendingAcks(inner));
        var (session, transport) = await node.WelcomeAsync("bob");
        var entries = await node.AppendAsync("bob", 3);
        foreach (var entry in entries) Assert.True(session.TryPush([entry]));
        var claims = gated!.RangeClaims;

        // Each entry was claimed live as it came: the ack clears them and there is nothing after the head to claim —
        // in the distributed composition one Redis round trip less per ack.
        await session.HandleAsync(Frame(new { t = "ack", seq = 3 }));
        Assert.Equal(claims, gated.RangeClaims);
        Assert.Equal([1L, 2L, 3L], transport.Seqs);

        // An entry the window had no room for, or that never came live, is still claimed by the next ack.
        var more = await node.AppendAsync("bob", 1);
        await session.HandleAsync(Frame(new { t = "ack", seq = 3 }));
        Assert.Equal(claims + 1, gated.RangeClaims);
        Assert.Equal([1L, 2L, 3L, more[0].Seq], transport.Seqs);
    }

    [Fact]
    public async Task An_ack_that_frees_no_room_leaves_the_next_ack_to_claim_what_is_behind()
    {
        await using var node = await SessionNode.StartAsync(window: 2);
        var (session, transport) = await node.WelcomeAsync("bob");
        await node.AppendAsync("bob", 4); // no live push: only an ack's look at the head finds them

        await session.HandleAsync(Frame(new { t = "ack", seq = 0 }));
        Assert.Equal([1L, 2L], transport.Seqs);
        // The window is full: this ack can claim nothing, and must leave the next one to look again.
        await session.HandleAsync(Frame(new { t = "ack", seq = 0 }));
        await session.HandleAsync(Frame(new { t = "ack", seq = 2 }));
        Assert.Equal([1L, 2L, 3L, 4L], transport.Seqs);
    }

    [Fact]
    public async Task Live_entries_that_arrive_while_an_ack_refill_waits_for_pending_acks_follow_it_in_seq_order_without_duplicates()
    {
        var gated = default(GatedPendingAcks);
        await using var node = await SessionNode.StartAsync(window: 10, pending: inner => gated = new GatedPendingAcks(inner));
        var (session, transport) = await node.WelcomeAsync("bob");
        var entries = await node.AppendAsync("bob", 4);
        Assert.True(session.TryPush([entries[0]]));

        // The ack's refill holds the turn while its claim waits; entries 2–4 are committed and arrive live meanwhile.
        var gate = gated!.HoldNextRangeClaim();
        var ack = session.HandleAsync(Frame(new { t = "ack", seq = 1 })).AsTask();
        await gated.Held.WaitAsync(TimeSpan.FromSeconds(10));
        foreach (var entry in entries.Skip(1)) Assert.True(session.TryPush([entry]));
        Assert.Equal([1L], transport.Seqs);

        gate.SetResult();
        await ack.WaitAsync(TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(() => transport.Seqs.Count >= 4, "entries 2–4 were written");
        Assert.Equal([1L, 2L, 3L, 4L], transport.Seqs);
    }

    [Fact]
    public async Task An_entry_routed_to_two_devices_of_its_user_is_serialized_once_for_both()
    {
        await using var node = await SessionNode.StartAsync();
        var (phone, phoneTransport) = await node.WelcomeAsync("bob", "phone");
        var (tablet, tabletTransport) = await node.WelcomeAsync("bob", "tablet");
        IReadOnlyList<InboxEntry> entries = await node.AppendAsync("bob", 1);

        Assert.True(phone.TryPush(entries));
        Assert.True(tablet.TryPush(entries));

        Assert.Same(phoneTransport.Raw.Last(), tabletTransport.Raw.Last());
        Assert.Equal([1L], phoneTransport.Seqs);
        Assert.Equal([1L], tabletTransport.Seqs);
    }

    [Fact]
    public async Task A_hello_completed_after_its_session_was_closed_registers_nothing()
    {
        await using var node = await SessionNode.StartAsync();
        var (live, liveTransport) = await node.WelcomeAsync("bob");

        var (late, lateTransport) = node.Connect();
        lateTransport.Close(CloseCodes.Unauthorized, "no hello within 10 s");
        Assert.False(await late.HelloAsync("bob", new HelloFrame { Token = "t", Device = "phone" }));

        Assert.Equal(DeviceSessionState.Closed, late.State);
        Assert.Null(liveTransport.ClosedWith);
        Assert.Equal(1, node.Registry.Count);
        Assert.True(live.TryPush(await node.AppendAsync("bob", 1)));
        Assert.Equal([1L], liveTransport.Seqs);
    }

    [Fact]
    public async Task A_second_hello_of_the_device_replaces_its_session_and_closes_the_first_with_the_replaced_code()
    {
        await using var node = await SessionNode.StartAsync();
        var (first, firstTransport) = await node.WelcomeAsync("bob");

        var (second, _) = await node.WelcomeAsync("bob");

        Assert.Equal((CloseCodes.Replaced, "replaced by a newer connection of this device"), firstTransport.ClosedWith);
        Assert.Equal(DeviceSessionState.Closed, first.State);
        Assert.False(first.TryPush(await node.AppendAsync("bob", 1)));
        await first.LeaveAsync();
        Assert.True(node.Registry.Holds("bob", "phone"));
        Assert.Equal(DeviceSessionState.Welcomed, second.State);
    }

    [Fact]
    public async Task Leaving_removes_the_device_from_the_node_its_pending_entries_and_presence()
    {
        await using var node = await SessionNode.StartAsync();
        await node.AppendAsync("bob", 2);
        var (session, _) = await node.WelcomeAsync("bob", cursor: 0);
        Assert.Equal(2, node.Pending.Count);
        Assert.Single(await node.Presence.GetDevicesAsync("bob"));

        await session.LeaveAsync();

        Assert.False(node.Registry.Holds("bob", "phone"));
        Assert.Equal(0, node.Pending.Count);
        Assert.Empty(await node.Presence.GetDevicesAsync("bob"));
    }

    [Theory]
    [InlineData("""{"t":"ack"}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"ack","seq":-1}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"ack","group":"g1"}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"ack","group":"nope","cseq":1}""", ErrorCodes.NotFound)]
    [InlineData("""{"t":"sync","after":0,"limit":0}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"sync","after":-1,"limit":10}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"gsync","group":"nope","after":0,"limit":10}""", ErrorCodes.NotFound)]
    [InlineData("""{"t":"hello","token":"t","device":"phone"}""", ErrorCodes.BadFrame)]
    [InlineData("""{"t":"wave"}""", ErrorCodes.BadFrame)]
    public async Task A_bad_request_of_a_welcomed_device_is_answered_with_its_error_code_and_the_session_stays(string frame, string code)
    {
        await using var node = await SessionNode.StartAsync();
        var (session, transport) = await node.WelcomeAsync("bob");

        await session.HandleAsync(System.Text.Encoding.UTF8.GetBytes(frame));

        var error = transport.Frames[^1];
        Assert.Equal("error", error.GetProperty("t").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(DeviceSessionState.Welcomed, session.State);
        Assert.Null(transport.ClosedWith);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("phone", -1L)]
    public async Task A_hello_with_a_bad_device_or_cursor_is_unauthorized_and_registers_nothing(string device, long? cursor)
    {
        await using var node = await SessionNode.StartAsync();
        var (session, _) = node.Connect();

        var error = await Assert.ThrowsAsync<FrameException>(async () => await session.HelloAsync("bob", new HelloFrame { Token = "t", Device = device, Cursor = cursor }));

        Assert.Equal(ErrorCodes.Unauthorized, error.Code);
        Assert.Equal(0, node.Registry.Count);
    }

    [Fact]
    public async Task Sync_pages_the_inbox_after_a_seq()
    {
        await using var node = await SessionNode.StartAsync();
        await node.AppendAsync("bob", 3);
        var (session, transport) = await node.WelcomeAsync("bob");

        await session.HandleAsync(Frame(new { t = "sync", after = 1, limit = 1 }));

        var reply = transport.Frames[^1];
        Assert.Equal("sync", reply.GetProperty("t").GetString());
        Assert.Equal([2L], reply.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("seq").GetInt64()));
        Assert.Equal(2, reply.GetProperty("next").GetInt64());
        Assert.True(reply.GetProperty("more").GetBoolean());
    }
}
