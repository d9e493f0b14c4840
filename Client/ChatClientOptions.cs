using System.Net.WebSockets;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>Settings of a <see cref="ChatClient"/>: where to connect, who it is, and its timing.</summary>
public sealed class ChatClientOptions
{
    /// <summary>The WebSocket endpoint, e.g. <c>ws://localhost:5000/ws</c>.</summary>
    public required Uri Server { get; init; }

    /// <summary>Supplies the bearer token sent in <c>hello</c>; called once per connection attempt so it can refresh.</summary>
    public required Func<CancellationToken, ValueTask<string>> TokenProvider { get; init; }

    /// <summary>This device's name (1–64 printable characters); <c>req</c> and the inbox cursor are per (user, device).</summary>
    public required string Device { get; init; }

    /// <summary>Where the inbox cursor and the last issued <c>req</c> survive restarts. One store belongs to one (user, device).</summary>
    public ICursorStore CursorStore { get; init; } = new InMemoryCursorStore();

    /// <summary>How long a send waits for its <c>ack</c> before it is retransmitted with the same <c>req</c>.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Transmissions of one send (first one included) before it is <see cref="OutgoingStatus.Failed"/>.</summary>
    public int MaxSendAttempts { get; init; } = 5;

    /// <summary>How long connect + <c>welcome</c>, a <c>sync</c> or a <c>ping</c> may take.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Fraction (0–1) by which each backoff delay is randomly stretched or shrunk, so clients do not reconnect in lockstep.</summary>
    public double ReconnectJitter { get; init; } = 0.2;

    /// <summary>Longest a received message waits before it is acknowledged (cumulative <c>ack</c>).</summary>
    public TimeSpan AckBatchDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Unacknowledged messages that trigger an <c>ack</c> at once, without waiting for <see cref="AckBatchDelay"/>.</summary>
    public int AckBatchSize { get; init; } = 100;

    /// <summary><c>limit</c> of the <c>sync</c> requests that fill a <c>seq</c> gap (1–500).</summary>
    public int SyncPageSize { get; init; } = 200;

    /// <summary><c>limit</c> of the <c>gsync</c> requests that fill a large group's <c>cseq</c> gap or continue its hello page (1–500).</summary>
    public int GsyncPageSize { get; init; } = 200;

    /// <summary>Largest body plus ex, in UTF-8 bytes; bigger sends fail locally with <c>too_large</c>.</summary>
    public int MaxBodyBytes { get; init; } = 16 * 1024;

    /// <summary>Largest frame the client writes; the server closes the socket (4413) past its limit.</summary>
    public int MaxFrameBytes { get; init; } = 64 * 1024;

    /// <summary>Largest frame the client accepts (a <c>sync</c> page can be large).</summary>
    public int MaxReceiveFrameBytes { get; init; } = 16 * 1024 * 1024;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The HTTP client for the API calls (conversation list, receipts); its base address is ignored. A client of the
    /// SDK's own (disposed with it) when null.
    /// </summary>
    public HttpClient? Http { get; init; }

    /// <summary>Where the HTTP API is; when null, <see cref="Server"/> with http(s) for ws(s) and without its <c>/ws</c> path.</summary>
    public Uri? ApiBase { get; init; }

    /// <summary>Optional hook to set proxy, headers or certificates on each socket.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Server);
        ArgumentNullException.ThrowIfNull(TokenProvider);
        ArgumentNullException.ThrowIfNull(CursorStore);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (Server.Scheme is not ("ws" or "wss"))
            throw new ArgumentException("Server must be a ws:// or wss:// URI.", nameof(Server));
        if (!Identifiers.IsValidDevice(Device))
            throw new ArgumentException("Device must be 1–64 printable characters.", nameof(Device));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SendTimeout, TimeSpan.Zero, nameof(SendTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSendAttempts, 1, nameof(MaxSendAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero, nameof(RequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReconnectInitialDelay, TimeSpan.Zero, nameof(ReconnectInitialDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReconnectMaxDelay, ReconnectInitialDelay, nameof(ReconnectMaxDelay));
        if (ReconnectJitter is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(ReconnectJitter));
        ArgumentOutOfRangeException.ThrowIfLessThan(AckBatchDelay, TimeSpan.Zero, nameof(AckBatchDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(AckBatchSize, 1, nameof(AckBatchSize));
        if (SyncPageSize is < 1 or > 500) throw new ArgumentOutOfRangeException(nameof(SyncPageSize));
        if (GsyncPageSize is < 1 or > 500) throw new ArgumentOutOfRangeException(nameof(GsyncPageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBodyBytes, 1, nameof(MaxBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameBytes, 256, nameof(MaxFrameBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReceiveFrameBytes, 1024, nameof(MaxReceiveFrameBytes));
    }
}
