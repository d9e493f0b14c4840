using AspireChat.Bench.Checking;
using AspireChat.Bench.Transport;
using AspireChat.Bench.Workloads;

namespace AspireChat.Bench.Peers;

/// <summary>
/// The raw WebSocket relay under the same load, driven by the very client AspireChat is (<see cref="BenchSocket"/>:
/// the same frames written and parsed, the same cumulative acks sent back), so both pay the same client cost.
/// With no acks, a send counts as answered once written; a message is known by (sender, req), and the checker also
/// holds the relay to its <c>seq</c> (contiguous per recipient) and <c>cseq</c> (rising per conversation).
/// </summary>
public sealed class RawWebSocketRelaySystem(RawWebSocketRelay relay, DeliveryChecker checker, SourceAddresses sources, string padding) : ILoadSystem
{
    private const int ConnectParallelism = 64;

    public string Name => "raw WebSocket relay";
    public string Device => "raw";
    public bool Acknowledges => false;
    public bool EchoesToSender => false;

    public Task<string> CreateGroupAsync(IReadOnlyList<string> members, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the raw WebSocket relay relays one-to-one messages only");

    public async Task<IReadOnlyList<ILoadClient>> ConnectAsync(IReadOnlyList<string> users, ILoadSink sink, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var clients = new Client[users.Count];
        var connected = 0;
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var handler = new Handler(i, checker, sink);
                // The relay checks no token: the token is the user's name.
                var socket = await BenchSocket.ConnectAsync(relay.WebSocketUri, sources.Next(), users[i], Device, users[i], null, handler, ct).ConfigureAwait(false);
                clients[i] = new Client(i, socket, checker.Sender(users[i], Device), sink, padding, handler);
                progress?.Report(Interlocked.Increment(ref connected));
            }).ConfigureAwait(false);
        return clients;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Client(int index, BenchSocket socket, SenderLog sends, ILoadSink sink, string padding, Handler handler) : ILoadClient
    {
        public string User => socket.User;

        public async ValueTask SendAsync(int ope, string to, long req, int senderIndex)
        {
            try
            {
                await socket.SendChatAsync(req, ope, to, senderIndex, padding).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                sends.Failed(req, "send_failed", e.Message);
                sink.Failed(index, req, "send_failed");
                return;
            }
            // No ack exists: "written to the socket" is as far as the relay answers.
            sends.Acked(req, SignalRHubSystem.MessageId(User, req));
            sink.Acked(index, req);
        }

        public Task CloseAsync()
        {
            handler.Closing = true;
            return socket.CloseAsync();
        }
    }

    private sealed class Handler(int index, DeliveryChecker checker, ILoadSink sink) : IBenchSocketHandler
    {
        private DeviceLog? _inbox;
        private SenderLog? _sends;

        public volatile bool Closing;

        public void OnAck(BenchSocket socket, in ReceivedAck ack)
        {
        }

        public void OnError(BenchSocket socket, long? req, string code, string message)
        {
            if (req is not { } r) return;
            (_sends ??= checker.Sender(socket.User, socket.Device)).Failed(r, code, message);
            sink.Failed(index, r, code);
        }

        public void OnMessage(BenchSocket socket, in ReceivedMessage message)
        {
            // The relay's seqs start after the welcome's head, like a new device's inbox.
            _inbox ??= checker.Device(socket.User, socket.Device, socket.Welcome.Head + 1);
            // The relay's ids are its own: the checker knows a message by its sender and req, as the sender does.
            _inbox.Delivered(message.Seq, SignalRHubSystem.MessageId(message.From, message.Req), message.Conv, message.Cseq, message.From, message.Type);
            if (message.IsNew && message.Sender >= 0) sink.Delivered(message.Sender, message.Req, index);
        }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
            if (!Closing) sink.Disconnected(index, error ?? new IOException("the relay closed the connection"));
        }
    }
}
