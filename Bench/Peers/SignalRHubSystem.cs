using AspireChat.Bench.Checking;
using AspireChat.Bench.Workloads;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace AspireChat.Bench.Peers;

/// <summary>
/// A SignalR peer under the same load — the bare relay or the persisting hub — driven through
/// <c>Microsoft.AspNetCore.SignalR.Client</c> over WebSockets. A message is known by (sender, req): the checker
/// still sees every loss, duplicate and reordering.
/// </summary>
/// <remarks>
/// The bare relay answers nothing, so a send counts as answered once the client library has written it. The
/// persisting hub is invoked (<c>InvokeAsync</c>, as a chat client written against it would): its completion
/// comes once the hub method returned, after the message was saved — that is its ack.
/// </remarks>
public sealed class SignalRHubSystem : ILoadSystem
{
    private const int ConnectParallelism = 64;
    private readonly Uri _hubUri;
    private readonly DeliveryChecker _checker;
    private readonly string _padding;
    private readonly List<(string Group, IReadOnlyList<string> Members)> _groups = [];

    private SignalRHubSystem(string name, Uri hubUri, bool acknowledges, DeliveryChecker checker, string padding) =>
        (Name, _hubUri, Acknowledges, _checker, _padding) = (name, hubUri, acknowledges, checker, padding);

    /// <summary>The bare SignalR relay: no store, no acks.</summary>
    public static SignalRHubSystem Relay(SignalRRelay relay, DeliveryChecker checker, string padding) =>
        new("SignalR relay", relay.HubUri, acknowledges: false, checker, padding);

    /// <summary>The persisting SignalR hub: each send saved with EF Core, then forwarded; the invocation's completion is the ack.</summary>
    public static SignalRHubSystem Persisting(PersistingSignalRHub hub, DeliveryChecker checker, string padding) =>
        new("persisting SignalR hub", hub.HubUri, acknowledges: true, checker, padding);

    public string Name { get; }
    public string Device => "relay";
    public bool Acknowledges { get; }
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
                var client = new Client(i, users[i], this, sink);
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
        private readonly bool _invoke;
        private readonly ILoadSink _sink;
        private readonly string _padding;
        private readonly SenderLog _sends;
        private readonly DeviceLog _inbox;
        private volatile bool _closing;

        public Client(int index, string user, SignalRHubSystem system, ILoadSink sink)
        {
            (_index, User, _invoke, _sink, _padding) = (index, user, system.Acknowledges, sink, system._padding);
            _sends = system._checker.Sender(user, system.Device);
            _inbox = system._checker.Device(user, system.Device);
            _connection = new HubConnectionBuilder()
                .WithUrl(new Uri(system._hubUri + "?user=" + Uri.EscapeDataString(user)), HttpTransportType.WebSockets, options => options.SkipNegotiation = true)
                .Build();
            _connection.On<string, string, int, long, int, string>(DirectoryHub.Message, OnMessage);
            _connection.Closed += error =>
            {
                if (!_closing) _sink.Disconnected(_index, error ?? new IOException("the hub closed the connection"));
                return Task.CompletedTask;
            };
        }

        public string User { get; }

        public Task StartAsync(CancellationToken cancellationToken) => _connection.StartAsync(cancellationToken);

        public Task JoinAsync(string group, CancellationToken cancellationToken) => _connection.InvokeAsync(nameof(RelayHub.Join), group, cancellationToken);

        public ValueTask SendAsync(int ope, string to, long req, int senderIndex)
        {
            var method = ope == Ope.Group ? nameof(RelayHub.SendGroup) : nameof(RelayHub.Send);
            if (!_invoke) return WriteAsync(method, to, req, senderIndex);
            // Pipelined like AspireChat's sends: the sender goes on, the completion arrives later as the ack.
            _ = InvokeAsync(method, to, req, senderIndex);
            return ValueTask.CompletedTask;
        }

        private async ValueTask WriteAsync(string method, string to, long req, int senderIndex)
        {
            try
            {
                await _connection.SendAsync(method, to, req, senderIndex, _padding).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fail(req, e);
                return;
            }
            // No ack exists: "written by the client library" is as far as the relay answers.
            Ack(req);
        }

        private async Task InvokeAsync(string method, string to, long req, int senderIndex)
        {
            try
            {
                await _connection.InvokeAsync(method, to, req, senderIndex, _padding).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fail(req, e);
                return;
            }
            Ack(req);
        }

        private void Ack(long req)
        {
            _sends.Acked(req, MessageId(User, req));
            _sink.Acked(_index, req);
        }

        private void Fail(long req, Exception e)
        {
            _sends.Failed(req, "send_failed", e.Message);
            _sink.Failed(_index, req, "send_failed");
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
