using AspireChat.Messaging.Pipeline;

namespace AspireChat.Tests.Delivery;

/// <summary>A connection's sends keep their order across an <c>unavailable</c>: nothing later overtakes a send that was not taken.</summary>
public sealed class SendOrderTests
{
    [Fact]
    public void After_a_send_is_not_taken_later_sends_are_held_back_until_it_is_on_its_way_again()
    {
        var order = new SendOrder();
        Assert.True(order.Admits(29));
        order.Taken(29);

        order.NotTaken(30);
        order.NotTaken(31);
        Assert.False(order.Admits(62));
        Assert.False(order.Admits(31));

        // The retransmissions, pipelined: 30 is on its way, so 31 and new sends behind it may follow.
        Assert.True(order.Admits(30));
        Assert.True(order.Admits(31));
        Assert.True(order.Admits(62));
    }

    [Fact]
    public void A_retransmission_that_fails_again_holds_the_later_ones_back_again()
    {
        var order = new SendOrder();
        order.NotTaken(30);
        Assert.True(order.Admits(30));
        Assert.True(order.Admits(31));

        order.NotTaken(30);

        Assert.False(order.Admits(31));
        order.Taken(30);
        Assert.True(order.Admits(31));
    }
}
