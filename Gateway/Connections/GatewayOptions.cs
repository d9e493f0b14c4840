namespace AspireChat.Gateway.Connections;

/// <summary><c>Gateway:*</c> settings of a gateway node's connections; bound and validated at start.</summary>
public sealed class GatewayOptions
{
    /// <summary>This node's id in presence and routing; empty: the machine name and a random suffix, new at every start.</summary>
    public string? Node { get; set; }

    /// <summary>The node id this start uses: <see cref="Node"/>, or a new one.</summary>
    public string NodeId() => Node is { Length: > 0 } node
        ? node
        : $"{Environment.MachineName}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";

    /// <summary>How long a socket may stay silent before its <c>hello</c>; then it is closed (4401).</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most bytes of frames waiting for one socket. A client that reads slower than its messages arrive is closed with
    /// 4408 past it, and resumes from its cursor when it reconnects: delivery state lives in the inbox, so nothing is lost.
    /// It must hold the largest reply the server writes at once: a <c>sync</c> or <c>gsync</c> page of 500 messages at
    /// <c>Limits:MaxBodyBytes</c> (8 MiB with the defaults), hence 16 MiB.
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Take plain <c>GET /ws</c> upgrades at the connection, before Kestrel's HTTP/1.1 layer (<see cref="SocketUpgrade"/>,
    /// decision 0020); false serves every upgrade through the HTTP pipeline.
    /// </summary>
    public bool DirectUpgrade { get; set; } = true;

    /// <summary>The smallest <see cref="MaxQueuedBytes"/> accepted: one frame of the largest size.</summary>
    public const long MinQueuedBytes = 64 * 1024;
}
