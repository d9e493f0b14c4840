namespace AspireChat.Bench.Workloads;

/// <summary>A messaging system under load — AspireChat, or a peer run beside it with the same workload.</summary>
public interface ILoadSystem : IAsyncDisposable
{
    /// <summary>The name in reports: <c>AspireChat</c>, <c>SignalR relay</c>, <c>raw WebSocket relay</c>, <c>persisting SignalR hub</c>.</summary>
    string Name { get; }

    /// <summary>The device name its clients connect as (the checker knows each device by user and this name).</summary>
    string Device { get; }

    /// <summary>True when the server acknowledges each send (AspireChat once durable, the persisting hub once saved); a relay does not.</summary>
    bool Acknowledges { get; }

    /// <summary>True when the sender's own device gets each of its messages too (AspireChat's sender inbox copy: pushed, or held from the send's ack in embedded mode).</summary>
    bool EchoesToSender { get; }

    /// <summary>
    /// Makes a group of <paramref name="members"/> (the first is its owner) before they connect; returns the
    /// address a send to the group uses.
    /// </summary>
    Task<string> CreateGroupAsync(IReadOnlyList<string> members, CancellationToken cancellationToken);

    /// <summary>Connects one client per user (client <c>i</c> is user <c>i</c>); their events go to <paramref name="sink"/> and the checker.</summary>
    Task<IReadOnlyList<ILoadClient>> ConnectAsync(IReadOnlyList<string> users, ILoadSink sink, IProgress<int>? progress, CancellationToken cancellationToken);
}

/// <summary>One connected load client.</summary>
public interface ILoadClient
{
    string User { get; }

    /// <summary>Sends message <paramref name="req"/> to a user (<paramref name="ope"/> 0) or a group (1), tagged with the sender's index.</summary>
    ValueTask SendAsync(int ope, string to, long req, int senderIndex);

    Task CloseAsync();
}

/// <summary>Where load clients report what happened to sends, for figures (the checker gets the raw events itself).</summary>
public interface ILoadSink
{
    /// <summary>Client <paramref name="client"/>'s send <paramref name="req"/> was acknowledged (or, with no acks, written).</summary>
    void Acked(int client, long req);

    /// <summary>Client <paramref name="client"/>'s send <paramref name="req"/> was refused or could not be written.</summary>
    void Failed(int client, long req, string code);

    /// <summary>A first arrival at client <paramref name="recipient"/> of message <paramref name="req"/> of sender <paramref name="sender"/> (the index its body carries).</summary>
    void Delivered(int sender, long req, int recipient);

    /// <summary>
    /// Client <paramref name="client"/> holds its own copy of its send <paramref name="req"/> from the send's ack (embedded
    /// mode: the server does not push it back) — one of the copies the run expects.
    /// </summary>
    void HeldOwnCopy(int client, long req);

    /// <summary>A client lost its connection while the run went on.</summary>
    void Disconnected(int client, Exception? error);
}
