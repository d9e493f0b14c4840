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
        socket.UseWebSockets(new WebSocketOptions { KeepAliveInterval = KeepAliveInterval, KeepAliveTimeout = KeepAliveTimeout });
        socket.Run(context => AcceptAsync(context, services));
        var branch = socket.Build();
        app.Use(next => context => context.Request.Path.StartsWithSegments(Path) ? branch(context) : next(context));
        return app;
    }

    private static readonly PathString Path = new("/ws");

    /// <summary>How often the server pings an idle socket at the WebSocket level.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(30);

    /// <summary>A socket that does not answer a ping within this is aborted (a dead peer that never said goodbye).</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(90);

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
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await RunAsync(socket, CorkingUpgradeFeature.Of(context), services, context.RequestAborted);
    }

    /// <summary>Runs an accepted WebSocket (either path: this endpoint, or <see cref="SocketUpgrade"/>) as a chat connection until it ends.</summary>
    public static async Task RunAsync(System.Net.WebSockets.WebSocket socket, CorkedStream? cork, IServiceProvider services, CancellationToken aborted)
    {
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var connection = new ChatConnection(socket, cork, services.GetRequiredService<DeviceSessions>(),
            services.GetRequiredService<IOptions<LimitsOptions>>().Value, services.GetRequiredService<IOptions<GatewayOptions>>().Value,
            services.GetRequiredService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILogger<ChatConnection>>());
        // A stopping node says goodbye (1001, after the answers it owes) so clients reconnect at once, rather than
        // holding every socket open until the host's shutdown timeout aborts it.
        using var stopping = lifetime.ApplicationStopping.Register(static c => ((ChatConnection)c!).Close(CloseCodes.ServerStopping, "server stopping"), connection);
        await connection.RunAsync(aborted);
    }
}
