using AspireChat.Messaging.Pipeline;

namespace AspireChat.Tests.Delivery;

/// <summary>A connection's sends keep their order across an <c>unavailable</c>: nothing later overtakes a send that was not taken.</summary>
public sealed class SendOrderTests
{
    [Fact]
    public void After_a_send_is_not_taken_later_sends_are_held_back_until_it_is_taken()
    {
        var order = new SendOrder();
        Assert.False(order.HoldsBack(31));

        order.NotTaken(30);
        order.NotTaken(31);
        Assert.False(order.HoldsBack(30));
        Assert.True(order.HoldsBack(31));
        Assert.True(order.HoldsBack(62));
        Assert.False(order.HoldsBack(29));

        order.Taken(30);
        Assert.False(order.HoldsBack(31));
        Assert.True(order.HoldsBack(32));
        order.Taken(31);
        Assert.False(order.HoldsBack(62));
    }
}
