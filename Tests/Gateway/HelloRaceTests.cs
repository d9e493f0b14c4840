using AspireChat.Messaging;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// A connection's state changes only through guarded transitions: a hello that completes after its connection was
/// closed (here by the hello timeout, while the hello waited for the store) is discarded, and cannot replace the
/// device's live connection.
/// </summary>
public sealed class HelloRaceTests
{
    [Fact]
    public async Task A_hello_that_completes_after_its_timeout_closed_the_socket_does_not_replace_the_live_connection()
    {
        GatedStore? gated = null;
        await using var server = await GatewayServer.StartAsync(
            new Dictionary<string, string?> { ["Gateway:HelloTimeout"] = "00:00:00.500" },
            configure: builder => builder.Services.AddSingleton<IInboxStore>(sp =>
            {
                var (store, gate) = GatedStore.Over(new RocksDbInboxStore(sp.GetRequiredService<RocksDbDatabase>()));
                gated = gate;
                return store;
            }));
        await using var live = await server.ConnectAsync("bob", "d1");
        await using var alice = await server.ConnectAsync("alice");

        // A second connection of the same device says hello; its hello waits in the store past the timeout.
        var gate = gated!.Hold();
        var token = await server.TokenAsync("bob");
        await using var late = await TestSocket.OpenAsync(server.WebSocketUri);
        await late.SendAsync(new { t = "hello", token, device = "d1" });
        await gated.Held.WaitAsync(TimeSpan.FromSeconds(10));
        var (code, _) = await late.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CloseCodes.Unauthorized, code);

        // The store answers now; the late hello goes on — and must leave the live connection alone.
        var passed = gated.Release(gate);
        await passed.WaitAsync(TimeSpan.FromSeconds(10));
        await alice.SendChatAsync(1, "bob", "still here?");
        var msg = await live.ExpectAsync("msg");
        Assert.Equal("still here?", msg.GetProperty("body").GetProperty("text").GetString());
        Assert.False(live.Closed.IsCompleted, "the live connection was closed by a hello that had already timed out");
    }

    /// <summary>
    /// The store, except that <c>GetInboxHeadAsync</c> can be held at a gate the test opens. Every other call goes to the real
    /// store unchanged (see <see cref="InterceptedChatStore"/>).
    /// </summary>
    private sealed class GatedStore
    {
        private TaskCompletionSource? _gate;
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static (IInboxStore Store, GatedStore Gate) Over(IInboxStore inner)
        {
            var gate = new GatedStore();
            var store = InterceptedChatStore.Over(inner, (method, args) =>
                method.Name == nameof(IInboxStore.GetInboxHeadAsync) && gate._gate is { } held
                    ? new ValueTask<long>(gate.HeldHeadAsync(inner, (string)args[0]!, held, (CancellationToken)args[1]!))
                    : null);
            return (store, gate);
        }

        public Task Held => _held.Task;

        public TaskCompletionSource Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Opens the gate; the returned task completes once the held call has returned to its caller.</summary>
        public Task Release(TaskCompletionSource gate)
        {
            _gate = null;
            gate.TrySetResult();
            return _passed.Task;
        }

        private async Task<long> HeldHeadAsync(IInboxStore inner, string user, TaskCompletionSource gate, CancellationToken cancellationToken)
        {
            _held.TrySetResult();
            await gate.Task.ConfigureAwait(false);
            var head = await inner.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
            _passed.TrySetResult();
            return head;
        }
    }
}
