using Microsoft.AspNetCore.Http.Features;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// Puts a <see cref="CorkedStream"/> under the server WebSocket of an HTTP/1.1 upgrade: the WebSocket middleware's
/// handshake takes the upgrade feature it finds when the request passes it, so <see cref="Install"/> runs just before it
/// and wraps the connection's stream when the upgrade happens. (An HTTP/2 WebSocket keeps its own stream, uncorked.)
/// </summary>
public sealed class CorkingUpgradeFeature(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    /// <summary>The upgraded connection's stream, once upgraded.</summary>
    public CorkedStream? Stream { get; private set; }

    public async Task<Stream> UpgradeAsync() => Stream = new CorkedStream(await inner.UpgradeAsync().ConfigureAwait(false));

    /// <summary>A middleware, placed before <c>UseWebSockets</c>: wraps the request's upgrade feature.</summary>
    public static Task Install(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is { } upgrade) context.Features.Set<IHttpUpgradeFeature>(new CorkingUpgradeFeature(upgrade));
        return next(context);
    }

    /// <summary>The corked stream under the request's WebSocket, when <see cref="Install"/> put one there.</summary>
    public static CorkedStream? Of(HttpContext context) => (context.Features.Get<IHttpUpgradeFeature>() as CorkingUpgradeFeature)?.Stream;
}
