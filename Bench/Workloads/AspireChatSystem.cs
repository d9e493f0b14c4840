using System.Buffers;
using System.Text.Json;
using AspireChat.Bench.Checking;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Transport;
using AspireChat.Protocol;

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

        public bool CanOperate => handler.LastMessage is not null;

        /// <summary>Even reqs edit the latest acknowledged message (a new body of the same size), odd ones react to it.</summary>
        public ValueTask OperateAsync(long req, int senderIndex)
        {
            var (id, conv) = handler.LastMessage ?? throw new InvalidOperationException("no message acknowledged yet");
            handler.Operating(req);
            var frame = new ArrayBufferWriter<byte>(256 + padding.Length);
            using (var json = new Utf8JsonWriter(frame))
            {
                json.WriteStartObject();
                json.WriteString("t"u8, req % 2 == 0 ? FrameTypes.Edit : FrameTypes.React);
                json.WriteNumber("req"u8, req);
                json.WriteString("conv"u8, conv);
                json.WriteString("target"u8, id);
                if (req % 2 == 0)
                {
                    json.WriteStartObject("body"u8);
                    json.WriteNumber("r"u8, req);
                    json.WriteNumber("s"u8, senderIndex);
                    json.WriteString("text"u8, padding);
                    json.WriteEndObject();
                }
                else
                {
                    // A few emoji, always added: adding one that is there is still an entry, and no user passes the 20 distinct.
                    json.WriteString("emoji"u8, Emoji[(int)(req / 2 % Emoji.Length)]);
                    json.WriteBoolean("on"u8, true);
                }
                json.WriteEndObject();
            }
            return socket.SendFrameAsync(frame.WrittenMemory);
        }

        public Task CloseAsync()
        {
            handler.Closing = true;
            return socket.CloseAsync();
        }
    }

    private static readonly string[] Emoji = ["👍", "🎉", "❤️"];

    private sealed class Handler(int index, DeliveryChecker checker, ILoadSink sink) : IBenchSocketHandler
    {
        private readonly HashSet<long> _operations = [];
        private SenderLog? _sends;
        private DeviceLog? _inbox;
        private volatile Tuple<string, string>? _lastMessage;

        public volatile bool Closing;

        /// <summary>The id and conversation of this client's latest acknowledged message (not an operation): what operations aim at.</summary>
        public (string Id, string Conv)? LastMessage => _lastMessage is { } last ? (last.Item1, last.Item2) : null;

        public void Operating(long req)
        {
            lock (_operations) _operations.Add(req);
        }

        public void OnAck(BenchSocket socket, long req, string id, string conv)
        {
            bool operation;
            lock (_operations) operation = _operations.Remove(req);
            if (!operation) _lastMessage = Tuple.Create(id, conv);
            Sends(socket).Acked(req, id);
            sink.Acked(index, req);
        }

        public void OnError(BenchSocket socket, long? req, string code, string message)
        {
            if (req is not { } r) return;
            lock (_operations) _operations.Remove(r);
            Sends(socket).Failed(r, code, message);
            sink.Failed(index, r, code);
        }

        public void OnMessage(BenchSocket socket, in ReceivedMessage message)
        {
            // The device's first seq is the one after the cursor the server took at hello: its head, for a new device.
            _inbox ??= checker.Device(socket.User, socket.Device, socket.Welcome.Head + 1);
            _inbox.Delivered(message.Seq, message.Id, message.Conv, message.Cseq, message.From, message.Type);
            if (message.IsNew && message.Type >= 0 && message.Sender >= 0) sink.Delivered(message.Sender, message.Req, index);
            else if (message.IsNew && OperationTypes.IsOperation(message.Type)) sink.OperationArrived(index);
        }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
            if (!Closing) sink.Disconnected(index, error ?? new IOException("the server closed the connection"));
        }

        private SenderLog Sends(BenchSocket socket) => _sends ??= checker.Sender(socket.User, socket.Device);
    }
}
