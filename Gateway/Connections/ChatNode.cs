using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Pipeline;
using Microsoft.Extensions.Options;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// What every connection of this gateway node shares: the factory of device sessions (the protocol state, in Messaging),
/// token validation, and the transport's limits. A connection holds only its socket's state.
/// </summary>
public sealed class ChatNode(DeviceSessions sessions, TokenService tokens, IOptions<LimitsOptions> limits, IOptions<GatewayOptions> gateway, TimeProvider time, ILoggerFactory loggers)
{
    public DeviceSessions Sessions { get; } = sessions;
    public TokenService Tokens { get; } = tokens;
    public LimitsOptions Limits { get; } = limits.Value;
    public GatewayOptions Gateway { get; } = gateway.Value;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("AspireChat.Gateway.Connections");
}
