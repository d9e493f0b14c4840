using AspireChat.Messaging.Delivery;

namespace AspireChat.Tests.Delivery;

public sealed class GroupCatchUpTests
{
    private static byte[] Frame(long cseq) => [(byte)cseq];

    [Fact]
    public void Live_messages_during_a_catch_up_are_held_and_only_those_after_the_page_are_written_in_cseq_order()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));
        catchUp.Begin(["g1", "g2"]);

        catchUp.Live("g1", 12, Frame(12));
        catchUp.Live("g1", 10, Frame(10));   // also in the page: must not be written twice
        catchUp.Live("g1", 11, Frame(11));
        catchUp.Live("g3", 7, Frame(7));     // not catching up: written at once
        Assert.Equal([7L], written);

        written.Add(100);                    // the page: ..., 9, 10 (marker)
        catchUp.End("g1", 10);
        Assert.Equal([7L, 100, 11, 12], written);

        catchUp.Live("g1", 13, Frame(13));   // after the catch-up: straight through
        Assert.Equal(13, written[^1]);
    }

    [Fact]
    public void A_group_that_is_not_large_releases_everything_held()
    {
        var written = new List<long>();
        var catchUp = new GroupCatchUp(f => written.Add(f[0]));
        catchUp.Begin(["g"]);
        catchUp.Live("g", 5, Frame(5));
        Assert.Empty(written);
        catchUp.End("g", 0);
        Assert.Equal([5L], written);
    }
}
