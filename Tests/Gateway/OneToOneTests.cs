using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

public sealed class OneToOneTests
{
    [Fact]
    public async Task Online_recipient_gets_the_message_and_the_sender_gets_an_ack()
    {
        await using var server = await GatewayServer.StartAsync();
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
}
