using System.Text.Json;
using AspireChat.Client;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Client;

/// <summary>The client SDK's block list and mutes against the real Gateway (docs/protocol.md §12.9).</summary>
public sealed class ChatClientConsentTests : IAsyncLifetime
{
    private readonly List<ChatClient> _clients = [];
    private GatewayServer _server = null!;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private async Task<ChatClient> ConnectAsync(string user)
    {
        var token = await _server.TokenAsync(user);
        var client = new ChatClient(new ChatClientOptions
        {
            Server = _server.WebSocketUri,
            TokenProvider = _ => ValueTask.FromResult(token),
            Device = "phone",
            AckBatchDelay = TimeSpan.FromMilliseconds(20),
        });
        _clients.Add(client);
        await client.ConnectAsync().WaitAsync(Wait.Deadline);
        return client;
    }

    private static JsonElement Body(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new { text })).RootElement;

    [Fact]
    public async Task BlockAsync_makes_the_blocked_users_send_fail_forbidden_until_UnblockAsync()
    {
        var bob = await ConnectAsync("bob");
        var mallory = await ConnectAsync("mallory");

        await bob.BlockAsync("mallory");
        await bob.BlockAsync("mallory");
        var refused = await Assert.ThrowsAsync<ChatException>(() => mallory.Send(Ope.OneToOne, "bob", 1, Body("hi")).Acked.WaitAsync(Wait.Deadline));
        Assert.Equal(ErrorCodes.Forbidden, refused.Code);
        Assert.Equal(["mallory"], (await bob.GetBlocksAsync()).Select(b => b.User));

        Assert.True(await bob.UnblockAsync("mallory"));
        Assert.False(await bob.UnblockAsync("mallory"));
        Assert.Empty(await bob.GetBlocksAsync());
        await mallory.Send(Ope.OneToOne, "bob", 1, Body("hi again")).Acked.WaitAsync(Wait.Deadline);
    }

    [Fact]
    public async Task Refusals_of_the_consent_calls_surface_as_ChatException_codes()
    {
        var bob = await ConnectAsync("bob");
        Assert.Equal(ErrorCodes.BadFrame, (await Assert.ThrowsAsync<ChatException>(() => bob.BlockAsync("bob"))).Code);
        Assert.Equal(ErrorCodes.Forbidden, (await Assert.ThrowsAsync<ChatException>(() => bob.MuteAsync("s:alice:carol"))).Code);
        await Assert.ThrowsAsync<ArgumentException>(() => bob.BlockAsync("not an id"));
        await Assert.ThrowsAsync<ArgumentException>(() => bob.MuteAsync("nonsense"));
    }

    [Fact]
    public async Task MuteAsync_marks_the_conversation_muted_in_the_list_and_unmuting_clears_it()
    {
        var alice = await ConnectAsync("alice");
        await alice.Send(Ope.OneToOne, "bob", 1, Body("hello")).Acked.WaitAsync(Wait.Deadline);

        await alice.MuteAsync("s:alice:bob", muted: true);
        Assert.True(Assert.Single((await alice.ListConversationsAsync()).Items).Muted);
        await alice.MuteAsync("s:alice:bob", muted: false);
        Assert.False(Assert.Single((await alice.ListConversationsAsync()).Items).Muted);
    }
}
