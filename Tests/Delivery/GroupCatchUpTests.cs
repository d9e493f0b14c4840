using AspireChat.Messaging.Delivery;

namespace AspireChat.Tests.Delivery;

/// <summary>A device's large-group messages reach its connection in cseq order and each once, whatever order the page and the live notices come in.</summary>
public sealed class GroupCatchUpTests
{
    private static byte[] Frame(long cseq) => [(byte)cseq];

    private static (long, byte[])[] Page(params long[] cseqs) => [.. cseqs.Select(c => (c, Frame(c)))];

    [Fact]
    public void Live_messages_during_a_catch_up_are_held_and_only_those_after_the_page_are_written_in_cseq_order()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));
        catchUp.Begin(["g1", "g2"]);

        catchUp.Live("g1", 12, Frame(12));
        catchUp.Live("g1", 10, Frame(10));   // also in the page: must not be written twice
        catchUp.Live("g1", 11, Frame(11));
        catchUp.Live("g3", 7, Frame(7));     // a group without a page: held until the catch-up is over
        Assert.Empty(written);

        catchUp.Page("g1", Page(9, 10), pageEnd: 10);
        Assert.Equal([9L, 10, 11, 12], written);
        catchUp.Page("g2", [], pageEnd: 4);
        catchUp.Finish();
        Assert.Equal([9L, 10, 11, 12, 7], written);

        catchUp.Live("g1", 13, Frame(13));   // after the catch-up: straight through
        Assert.Equal(13, written[^1]);
    }

    [Fact]
    public void A_notice_that_arrives_after_the_page_already_carried_its_message_is_dropped()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));
        catchUp.Begin(["g"]);

        // Stored before the page was read, notified after the catch-up ended.
        catchUp.Page("g", Page(5, 6), pageEnd: 6);
        catchUp.Finish();
        catchUp.Live("g", 6, Frame(6));
        catchUp.Live("g", 7, Frame(7));

        Assert.Equal([5L, 6, 7], written);
    }

    [Fact]
    public void A_notice_replayed_after_a_rebalance_is_not_written_again()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));

        catchUp.Live("g", 1, Frame(1));
        catchUp.Live("g", 2, Frame(2));
        catchUp.Live("g", 1, Frame(1));
        catchUp.Live("g", 3, Frame(3));

        Assert.Equal([1L, 2, 3], written);
    }

    [Fact]
    public void Live_messages_of_a_group_written_before_a_new_catch_up_are_not_overtaken_by_its_page()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));
        catchUp.Live("g", 6, Frame(6));      // the group was live (joined mid-session)

        catchUp.Begin(["g"]);
        catchUp.Live("g", 8, Frame(8));
        catchUp.Page("g", Page(5, 6, 7), pageEnd: 7);
        catchUp.Finish();

        Assert.Equal([6L, 7, 8], written);
    }

    [Fact]
    public void Outside_a_catch_up_a_live_message_goes_straight_through()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));

        catchUp.Live("g", 5, Frame(5));

        Assert.Equal([5L], written);
    }
}
