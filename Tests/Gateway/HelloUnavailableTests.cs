using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Gateway;

/// <summary>A hello the server cannot serve because its store failed is not a refused token: the client is told to come back.</summary>
public sealed class HelloUnavailableTests
{
    [Fact]
    public async Task A_hello_the_store_cannot_serve_gets_unavailable_and_close_1013_and_the_next_hello_is_welcomed()
    {
        var failing = new StoreSwitch();
        await using var server = await GatewayServer.StartAsync(
            configure: builder => builder.Services.AddSingleton<IInboxStore>(sp => failing.Over(new RocksDbInboxStore(sp.GetRequiredService<RocksDbDatabase>()))));

        failing.Down = true;
        await using (var refused = await TestSocket.OpenAsync(server.WebSocketUri))
        {
            await refused.SendAsync(new { t = "hello", token = await server.TokenAsync("bob"), device = "d1" });
            var error = await refused.ExpectAsync("error");
            Assert.Equal(ErrorCodes.Unavailable, error.GetProperty("code").GetString());
            Assert.Equal(CloseCodes.TryAgainLater, (await refused.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
        }

        failing.Down = false;
        await using var welcomed = await server.ConnectAsync("bob", "d1");
        Assert.Equal("bob", welcomed.Welcome.GetProperty("user").GetString());
    }

    /// <summary>The store, except that while <see cref="Down"/> every inbox-head read fails as an unreachable store would.</summary>
    private sealed class StoreSwitch
    {
        public volatile bool Down;

        public IInboxStore Over(IInboxStore inner) => InterceptedChatStore.Over(inner, (method, _) =>
            method.Name == nameof(IInboxStore.GetInboxHeadAsync) && Down ? ValueTask.FromException<long>(new IOException("the store is unreachable")) : null);
    }
}
