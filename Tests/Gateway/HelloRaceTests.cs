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
            configure: builder => builder.Services.AddSingleton<IChatStore>(sp => gated = new GatedStore(new RocksDbChatStore(sp.GetRequiredService<RocksDbDatabase>()))));
        await using var live = await server.ConnectAsync("bob", "d1");
        await using var alice = await server.ConnectAsync("alice");

        // A second connection of the same device says hello; its hello waits in the store past the timeout.
        var gate = gated!.Hold();
        await using var late = await TestSocket.OpenAsync(server.WebSocketUri);
        await late.SendAsync(new { t = "hello", token = await server.TokenAsync("bob"), device = "d1" });
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

    /// <summary>The store, except that <see cref="GetInboxHeadAsync"/> can be held at a gate the test opens.</summary>
    private sealed class GatedStore(IChatStore inner) : IChatStore
    {
        private TaskCompletionSource? _gate;
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Held => _held.Task;

        public TaskCompletionSource Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Opens the gate; the returned task completes once the held call has returned to its caller's next step.</summary>
        public Task Release(TaskCompletionSource gate)
        {
            _gate = null;
            gate.TrySetResult();
            return _passed.Task;
        }

        public async ValueTask<long> GetInboxHeadAsync(string user, CancellationToken cancellationToken = default)
        {
            if (_gate is { } gate)
            {
                _held.TrySetResult();
                await gate.Task.ConfigureAwait(false);
                var head = await inner.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
                _passed.TrySetResult();
                return head;
            }
            return await inner.GetInboxHeadAsync(user, cancellationToken).ConfigureAwait(false);
        }

        public IChatStoreBatch BeginBatch() => inner.BeginBatch();
        public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);
        public ValueTask<long> PurgeSendRecordsAsync(long olderThan, CancellationToken cancellationToken = default) => inner.PurgeSendRecordsAsync(olderThan, cancellationToken);
        public ValueTask<IReadOnlyList<InboxEntry>> ReadInboxAsync(string user, long after, int limit, CancellationToken cancellationToken = default) => inner.ReadInboxAsync(user, after, limit, cancellationToken);
        public ValueTask<IReadOnlyList<ChatMessage>> ReadConversationAsync(string conv, long? before, long? after, int limit, CancellationToken cancellationToken = default) => inner.ReadConversationAsync(conv, before, after, limit, cancellationToken);
        public ValueTask<long?> GetCursorAsync(string user, string device, CancellationToken cancellationToken = default) => inner.GetCursorAsync(user, device, cancellationToken);
        public ValueTask AdvanceCursorAsync(string user, string device, long seq, CancellationToken cancellationToken = default) => inner.AdvanceCursorAsync(user, device, seq, cancellationToken);
        public ValueTask AdvanceCursorsAsync(IReadOnlyList<(string User, string Device, long Seq)> cursors, CancellationToken cancellationToken = default) => inner.AdvanceCursorsAsync(cursors, cancellationToken);
        public ValueTask<IReadOnlyList<SendRecord>> ReserveSendsAsync(IReadOnlyList<SendRecord> candidates, CancellationToken cancellationToken = default) => inner.ReserveSendsAsync(candidates, cancellationToken);
        public ValueTask<IReadOnlyList<ChatMessage>> AppendMessagesAsync(IReadOnlyList<MessageAccepted> accepted, CancellationToken cancellationToken = default) => inner.AppendMessagesAsync(accepted, cancellationToken);
        public ValueTask<IReadOnlyList<InboxEntry>> AppendInboxAsync(IReadOnlyList<InboxAppend> appends, CancellationToken cancellationToken = default) => inner.AppendInboxAsync(appends, cancellationToken);
    }
}
