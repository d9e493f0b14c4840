using AspireChat.Gateway.Auth;
using AspireChat.Protocol;
using AspireChat.Gateway.Connections;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Pipeline;
using Microsoft.Extensions.Options;

namespace AspireChat.Gateway.Apis;

/// <summary><c>GET /ws</c>: protocol v1 over WebSocket (docs/protocol.md).</summary>
public static class ChatSocketEndpoint
{
    /// <summary>
    /// Branches <c>/ws</c> off the pipeline before the HTTP middlewares (exception handler, status pages, authentication,
    /// authorization): an upgraded request lives as long as its connection, and every middleware it passed through stays
    /// on its stack for that long. The socket authenticates with its <c>hello</c>, not with the HTTP request.
    /// </summary>
    public static IApplicationBuilder MapChatSocket(this IApplicationBuilder app)
    {
        app.Map("/ws", socket => socket
            // Frames waiting in a connection's output go out with one flush per drain (CorkedStream).
            .Use(CorkingUpgradeFeature.Install)
            .UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30), KeepAliveTimeout = TimeSpan.FromSeconds(90) })
            .Run(AcceptAsync));
        return app;
    }

    private static async Task AcceptAsync(HttpContext context)
    {
        // Browsers let any page open a WebSocket to any host, with the user's cookies: only allowed origins may (DESIGN §3c).
        if (!context.RequestServices.GetRequiredService<OriginCheck>().IsAllowed(context.Request))
        {
            await OriginCheckMiddleware.RefuseAsync(context);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem("GET /ws expects a WebSocket upgrade", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
        var services = context.RequestServices;
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new ChatConnection(socket, CorkingUpgradeFeature.Of(context), services.GetRequiredService<DeviceSessions>(),
            services.GetRequiredService<IOptions<LimitsOptions>>().Value, services.GetRequiredService<IOptions<GatewayOptions>>().Value,
            services.GetRequiredService<TimeProvider>());
        // A stopping node says goodbye (1001, after the answers it owes) so clients reconnect at once, rather than
        // holding every socket open until the host's shutdown timeout aborts it.
        using var stopping = lifetime.ApplicationStopping.Register(static c => ((ChatConnection)c!).Close(CloseCodes.ServerStopping, "server stopping"), connection);
        await connection.RunAsync(context.RequestAborted);
    }
}
