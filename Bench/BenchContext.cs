using AspireChat.Bench.Peers;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Transport;

namespace AspireChat.Bench;

/// <summary>What every workload of one run shares: the target server, the peers, source addresses, the view.</summary>
public sealed class BenchContext : IAsyncDisposable
{
    private readonly SemaphoreSlim _peersGate = new(1, 1);
    private readonly Dictionary<Type, IAsyncDisposable> _peers = [];

    private readonly ChatTarget? _target;

    /// <param name="target">The server to load; null for workloads that need none (ids).</param>
    public BenchContext(ChatTarget? target, ProgressView view, int sourceAddresses = 0, int bodyBytes = 100, string command = "")
    {
        _target = target;
        View = view;
        Sources = new SourceAddresses(sourceAddresses);
        Padding = new string('x', Math.Max(0, bodyBytes));
        Command = command;
    }

    public ChatTarget Target => _target ?? throw new InvalidOperationException("this workload needs a target server");
    public ProgressView View { get; }
    public SourceAddresses Sources { get; }

    /// <summary>The text every message body carries, sized by <c>--body-bytes</c>.</summary>
    public string Padding { get; }
    public string Command { get; }

    /// <summary>The persisting hub's SQLite <c>synchronous</c> (<c>--hub-synchronous</c>); null leaves SQLite's default.</summary>
    public string? HubSynchronous { get; init; }

    /// <summary>Every AspireChat device marks what it receives read (<c>--mark-read</c>): reads and receipts under load.</summary>
    public bool MarkRead { get; init; }
    public MachineInfo Machine { get; } = MachineInfo.Read();

    /// <summary>A short random prefix for this run's user names, so repeated runs against one server never share an inbox.</summary>
    public string RunId { get; } = "b" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();

    /// <summary>
    /// The peer server of type <typeparamref name="TPeer"/> (<see cref="SignalRRelay"/>, <see cref="RawWebSocketRelay"/>,
    /// <see cref="PersistingSignalRHub"/>), started on first use and shared by every phase of the run.
    /// </summary>
    public async Task<TPeer> PeerAsync<TPeer>(Func<CancellationToken, Task<TPeer>> start, CancellationToken cancellationToken) where TPeer : class, IAsyncDisposable
    {
        await _peersGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_peers.TryGetValue(typeof(TPeer), out var running)) return (TPeer)running;
            var peer = await start(cancellationToken).ConfigureAwait(false);
            _peers[typeof(TPeer)] = peer;
            return peer;
        }
        finally
        {
            _peersGate.Release();
        }
    }

    public BenchResult NewResult(string workload) => new()
    {
        Workload = workload,
        Command = Command,
        Target = _target?.Description ?? "in-process (no server)",
        StartedUtc = DateTimeOffset.UtcNow,
        Machine = Machine,
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _peers.Values) await peer.DisposeAsync().ConfigureAwait(false);
        Sources.Dispose();
        if (_target is not null) await _target.DisposeAsync().ConfigureAwait(false);
        _peersGate.Dispose();
    }
}
