using AspireChat.Client;
using AspireChat.Protocol;

namespace AspireChat.Tests.Client;

public sealed class GroupSequencerTests
{
    private const string G = "g1";

    private static MsgFrame Pushed(long cseq) => FakeChatServer.GroupMessage(G, cseq);
    private static MsgFrame ViaInbox(long cseq, long seq) => FakeChatServer.GroupMessage(G, cseq, seq);

    private static List<long> Offer(GroupSequencer groups, params MsgFrame[] messages)
    {
        var surfaced = new List<MsgFrame>();
        foreach (var message in messages) groups.Accept(G, message, surfaced);
        return surfaced.Select(m => m.Cseq).ToList();
    }

    [Fact]
    public void A_group_crossing_the_limit_surfaces_each_cseq_once_in_order_whichever_path_comes_first()
    {
        var groups = new GroupSequencer();

        Assert.Equal([1, 2], Offer(groups, ViaInbox(1, seq: 10), ViaInbox(2, seq: 11)));
        Assert.Equal([3], Offer(groups, Pushed(3)));
        // Back under the limit: cseq 5 comes through the inbox before the push of 4.
        Assert.Empty(Offer(groups, ViaInbox(5, seq: 12)));
        Assert.Equal(12, groups.LowestHeldSeq);
        Assert.Equal([G], groups.Gaps());

        var surfaced = new List<MsgFrame>();
        groups.AcceptPage(G, after: 3, [Pushed(4), Pushed(5)], next: 5, surfaced);

        Assert.Equal([4L, 5L], surfaced.Select(m => m.Cseq));
        Assert.Equal(12, surfaced[1].Seq); // the held inbox copy, with its seq
        Assert.Null(groups.LowestHeldSeq);
        Assert.Empty(groups.Gaps());
        Assert.Empty(Offer(groups, Pushed(4), ViaInbox(5, seq: 12), Pushed(2)));
        Assert.Equal(5, groups.CursorOf(G));
    }

    [Fact]
    public void A_page_that_joins_the_cursor_moves_it_over_cseqs_the_member_may_not_read()
    {
        var groups = new GroupSequencer();
        groups.Reset(new Dictionary<string, long> { [G] = 3 });

        Assert.Empty(Offer(groups, ViaInbox(9, seq: 20))); // re-added at 9 after being out for 4–8
        var surfaced = new List<MsgFrame>();
        groups.AcceptPage(G, after: 3, [Pushed(9)], next: 9, surfaced);

        Assert.Equal([9L], surfaced.Select(m => m.Cseq));
        Assert.Equal(9, groups.CursorOf(G));
        Assert.Equal([10], Offer(groups, Pushed(10)));
    }

    [Fact]
    public void A_page_ahead_of_the_cursor_is_held_like_pushes()
    {
        var groups = new GroupSequencer();
        groups.Reset(new Dictionary<string, long> { [G] = 3 });

        var surfaced = new List<MsgFrame>();
        groups.AcceptPage(G, after: 5, [Pushed(6), Pushed(7)], next: 7, surfaced);

        Assert.Empty(surfaced);
        Assert.Equal(3, groups.CursorOf(G));
        Assert.Equal([4, 5, 6, 7], Offer(groups, Pushed(4), Pushed(5)));
    }

    [Fact]
    public void Release_surfaces_what_a_gap_held()
    {
        var groups = new GroupSequencer();
        groups.Reset(new Dictionary<string, long> { [G] = 1 });
        Assert.Empty(Offer(groups, Pushed(4), ViaInbox(3, seq: 7)));

        var surfaced = new List<MsgFrame>();
        groups.Release(G, surfaced);

        Assert.Equal([3L, 4L], surfaced.Select(m => m.Cseq));
        Assert.Null(groups.LowestHeldSeq);
        Assert.Equal(4, groups.CursorOf(G));
    }

    [Fact]
    public void Only_groups_seen_without_seq_are_acknowledged_and_each_ack_is_cumulative()
    {
        var groups = new GroupSequencer();
        Offer(groups, ViaInbox(1, seq: 1), ViaInbox(2, seq: 2));
        Assert.Empty(groups.TakeAcksDue(all: false)); // a small group: the inbox ack covers it

        Offer(groups, Pushed(3), Pushed(4));
        Assert.Equal([(G, 4L)], groups.TakeAcksDue(all: false));
        Assert.Empty(groups.TakeAcksDue(all: false));
        Assert.Equal([(G, 4L)], groups.TakeAcksDue(all: true));

        groups.AckRefused(G);
        Assert.Empty(groups.TakeAcksDue(all: true));
        Offer(groups, Pushed(5));
        Assert.Equal([(G, 5L)], groups.TakeAcksDue(all: false));
    }

    [Fact]
    public void Hello_cursors_fit_the_budget_large_groups_first_then_the_most_recently_active()
    {
        var groups = new GroupSequencer();
        var surfaced = new List<MsgFrame>();
        groups.Accept("small-old", FakeChatServer.GroupMessage("small-old", 1, seq: 1), surfaced);
        groups.Accept("large", FakeChatServer.GroupMessage("large", 1), surfaced);
        groups.Accept("small-new", FakeChatServer.GroupMessage("small-new", 1, seq: 2), surfaced);

        Assert.Equal(["large", "small-new", "small-old"], groups.HelloCursors(1_000)!.Keys.Order());
        Assert.Equal(["large", "small-new"], groups.HelloCursors(("large".Length + 24) + ("small-new".Length + 24))!.Keys.Order());
        Assert.Equal(["large"], groups.HelloCursors(40)!.Keys);
        Assert.Null(groups.HelloCursors(10));
    }

    [Fact]
    public void Stored_cursors_that_the_server_would_refuse_are_dropped()
    {
        var groups = new GroupSequencer();
        groups.Reset(new Dictionary<string, long> { [G] = 7, ["not valid!"] = 3, ["g2"] = -1 });

        Assert.Equal(new Dictionary<string, long> { [G] = 7 }, groups.Cursors());
    }
}
