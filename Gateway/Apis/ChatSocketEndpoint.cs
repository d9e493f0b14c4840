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
    /// on its stack for that long. The branch itself awaits nothing (unlike <c>Map</c>), and the connection takes its
    /// services from the application, not from a request scope it would hold open. The socket authenticates with its
    /// <c>hello</c>, not with the HTTP request.
    /// </summary>
    public static IApplicationBuilder MapChatSocket(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var socket = app.New();
        // Frames waiting in a connection's output go out with one flush per drain (CorkedStream).
        socket.Use(CorkingUpgradeFeature.Install);
        socket.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30), KeepAliveTimeout = TimeSpan.FromSeconds(90) });
        socket.Run(context => AcceptAsync(context, services));
        var branch = socket.Build();
        app.Use(next => context => context.Request.Path.StartsWithSegments(Path) ? branch(context) : next(context));
        return app;
    }

    private static readonly PathString Path = new("/ws");

    private static async Task AcceptAsync(HttpContext context, IServiceProvider services)
    {
        // Browsers let any page open a WebSocket to any host, with the user's cookies: only allowed origins may (DESIGN §3c).
        if (!services.GetRequiredService<OriginCheck>().IsAllowed(context.Request))
        {
            await OriginCheckMiddleware.RefuseAsync(context);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem("GET /ws expects a WebSocket upgrade", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
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
