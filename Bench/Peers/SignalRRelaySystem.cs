using AspireChat.Bench.Checking;
using AspireChat.Bench.Workloads;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace AspireChat.Bench.Peers;

/// <summary>
/// The SignalR relay under the same load, driven through <c>Microsoft.AspNetCore.SignalR.Client</c> over WebSockets.
/// With no acks and no ids, a send counts as answered once the client library has written it, and a message is
/// known by (sender, req): the checker still sees every loss, duplicate and reordering.
/// </summary>
public sealed class SignalRRelaySystem(SignalRRelay relay, DeliveryChecker checker, string padding) : ILoadSystem
{
    public const string Device = "relay";
    private const int ConnectParallelism = 64;
    private readonly List<(string Group, IReadOnlyList<string> Members)> _groups = [];

    public string Name => "SignalR relay";
    public bool Acknowledges => false;
    public bool EchoesToSender => false;

    public Task<string> CreateGroupAsync(IReadOnlyList<string> members, CancellationToken cancellationToken)
    {
        var group = $"grp-{Guid.NewGuid():n}"[..16];
        lock (_groups) _groups.Add((group, members));
        return Task.FromResult(group);
    }

    public async Task<IReadOnlyList<ILoadClient>> ConnectAsync(IReadOnlyList<string> users, ILoadSink sink, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var clients = new Client[users.Count];
        var connected = 0;
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var client = new Client(i, users[i], relay, checker, sink, padding);
                await client.StartAsync(ct).ConfigureAwait(false);
                clients[i] = client;
                progress?.Report(Interlocked.Increment(ref connected));
            }).ConfigureAwait(false);

        List<(string Group, IReadOnlyList<string> Members)> groups;
        lock (_groups) groups = [.. _groups];
        var byUser = clients.ToDictionary(c => c.User, StringComparer.Ordinal);
        foreach (var (group, members) in groups)
        {
            await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken },
                async (member, ct) =>
                {
                    if (byUser.TryGetValue(member, out var client)) await client.JoinAsync(group, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        return clients;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The id a relayed message is known by in the checker.</summary>
    public static string MessageId(string from, long req) => $"{from}/{req}";

    private sealed class Client : ILoadClient
    {
        private readonly int _index;
        private readonly HubConnection _connection;
        private readonly DeliveryChecker _checker;
        private readonly ILoadSink _sink;
        private readonly string _padding;
        private readonly SenderLog _sends;
        private readonly DeviceLog _inbox;
        private volatile bool _closing;

        public Client(int index, string user, SignalRRelay relay, DeliveryChecker checker, ILoadSink sink, string padding)
        {
            (_index, User, _checker, _sink, _padding) = (index, user, checker, sink, padding);
            _sends = checker.Sender(user, Device);
            _inbox = checker.Device(user, Device);
            _connection = new HubConnectionBuilder()
                .WithUrl(new Uri(relay.HubUri + "?user=" + Uri.EscapeDataString(user)), HttpTransportType.WebSockets, options => options.SkipNegotiation = true)
                .Build();
            _connection.On<string, string, int, long, int, string>(RelayHub.Message, OnMessage);
            _connection.Closed += error =>
            {
                if (!_closing) _sink.Disconnected(_index, error ?? new IOException("the relay closed the connection"));
                return Task.CompletedTask;
            };
        }

        public string User { get; }

        public Task StartAsync(CancellationToken cancellationToken) => _connection.StartAsync(cancellationToken);

        public Task JoinAsync(string group, CancellationToken cancellationToken) => _connection.InvokeAsync(nameof(RelayHub.Join), group, cancellationToken);

        public async ValueTask SendAsync(int ope, string to, long req, int senderIndex)
        {
            try
            {
                await _connection.SendAsync(ope == Ope.Group ? nameof(RelayHub.SendGroup) : nameof(RelayHub.Send), to, req, senderIndex, _padding).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _sends.Failed(req, "send_failed", e.Message);
                _sink.Failed(_index, req, "send_failed");
                return;
            }
            // No ack exists: "written by the client library" is as far as the relay answers.
            _sends.Acked(req, MessageId(User, req));
            _sink.Acked(_index, req);
        }

        private void OnMessage(string from, string to, int ope, long req, int sender, string text)
        {
            var conv = Identifiers.ConversationOf(ope, from, to);
            _inbox.Delivered(null, MessageId(from, req), conv, 0, from);
            _sink.Delivered(sender, req, _index);
        }

        public async Task CloseAsync()
        {
            _closing = true;
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
