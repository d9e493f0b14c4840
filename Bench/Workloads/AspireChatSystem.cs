using AspireChat.Bench.Checking;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Transport;

namespace AspireChat.Bench.Workloads;

/// <summary>
/// AspireChat under load: one <see cref="BenchSocket"/> per user (device <c>bench</c>), every frame fed to the checker;
/// with <paramref name="markRead"/> every device also marks what it receives read (<c>--mark-read</c>).
/// </summary>
public sealed class AspireChatSystem(ChatTarget target, DeliveryChecker checker, SourceAddresses sources, string padding, bool markRead = false) : ILoadSystem
{
    public const string DeviceName = "bench";
    private const int ConnectParallelism = 64;

    public string Name => "AspireChat";
    public string Device => DeviceName;
    public bool Acknowledges => true;
    public bool EchoesToSender => true;

    public async Task<string> CreateGroupAsync(IReadOnlyList<string> members, CancellationToken cancellationToken)
    {
        var gid = await target.CreateGroupAsync(members[0], [.. members.Skip(1)], cancellationToken).ConfigureAwait(false);
        // Membership is applied by stage 1 at the created event's cseq: wait until the group reads back whole.
        for (var attempt = 0; ; attempt++)
        {
            var group = await target.GetGroupAsync(members[0], gid, cancellationToken).ConfigureAwait(false);
            if (group?.Members.Count == members.Count) return gid;
            if (attempt > 300) throw new TimeoutException($"group {gid} did not show its {members.Count} members");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<ILoadClient>> ConnectAsync(IReadOnlyList<string> users, ILoadSink sink, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var clients = new Client[users.Count];
        var connected = 0;
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var token = await target.Tokens.TokenAsync(users[i], ct).ConfigureAwait(false);
                var handler = new Handler(i, checker, sink);
                var socket = await BenchSocket.ConnectAsync(target.WebSocketUri, sources.Next(), users[i], DeviceName, token, null, handler, ct).ConfigureAwait(false);
                socket.MarksRead = markRead;
                clients[i] = new Client(socket, padding, handler);
                progress?.Report(Interlocked.Increment(ref connected));
            }).ConfigureAwait(false);
        return clients;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Client(BenchSocket socket, string padding, Handler handler) : ILoadClient
    {
        public string User => socket.User;

        public ValueTask SendAsync(int ope, string to, long req, int senderIndex) => socket.SendChatAsync(req, ope, to, senderIndex, padding);

        public Task CloseAsync()
        {
            handler.Closing = true;
            return socket.CloseAsync();
        }
    }

    private sealed class Handler(int index, DeliveryChecker checker, ILoadSink sink) : IBenchSocketHandler
    {
        private SenderLog? _sends;
        private DeviceLog? _inbox;

        public volatile bool Closing;

        public void OnAck(BenchSocket socket, in ReceivedAck ack)
        {
            Sends(socket).Acked(ack.Req, ack.Id);
            // Embedded mode: the ack is the sending device's copy of its own message (the server does not push it back).
            if (ack.Seq is { } seq) Inbox(socket).HeldFromAck(seq, ack.Id, ack.Conv, ack.Cseq, socket.User);
            sink.Acked(index, ack.Req);
            // Counted like the pushed copy it replaces, so the phase drains once every expected copy is held.
            if (ack.Seq is not null && ack.IsNew) sink.HeldOwnCopy(index, ack.Req);
        }

        public void OnError(BenchSocket socket, long? req, string code, string message)
        {
            if (req is not { } r) return;
            Sends(socket).Failed(r, code, message);
            sink.Failed(index, r, code);
        }

        public void OnMessage(BenchSocket socket, in ReceivedMessage message)
        {
            Inbox(socket).Delivered(message.Seq, message.Id, message.Conv, message.Cseq, message.From, message.Type);
            if (message.IsNew && message.Type >= 0 && message.Sender >= 0) sink.Delivered(message.Sender, message.Req, index);
        }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
            if (!Closing) sink.Disconnected(index, error ?? new IOException("the server closed the connection"));
        }

        private SenderLog Sends(BenchSocket socket) => _sends ??= checker.Sender(socket.User, socket.Device);

        // The device's first seq is the one after the cursor the server took at hello: its head, for a new device.
        private DeviceLog Inbox(BenchSocket socket) => _inbox ??= checker.Device(socket.User, socket.Device, socket.Welcome.Head + 1);
    }
}
