using AspireChat.Protocol;
using AspireChat.Gateway.Connections;

namespace AspireChat.Gateway.Apis;

/// <summary><c>GET /ws</c>: protocol v1 over WebSocket (docs/protocol.md).</summary>
public static class ChatSocketEndpoint
{
    public static IEndpointRouteBuilder MapChatSocket(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", async (HttpContext context, ChatNode node, IHostApplicationLifetime lifetime) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
                return Results.Problem("GET /ws expects a WebSocket upgrade", statusCode: StatusCodes.Status400BadRequest);
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var connection = new ChatConnection(socket, node);
            // A stopping node says goodbye (1001, after the answers it owes) so clients reconnect at once, rather than
            // holding every socket open until the host's shutdown timeout aborts it.
            using var stopping = lifetime.ApplicationStopping.Register(() => connection.Close(CloseCodes.ServerStopping, "server stopping"));
            await connection.RunAsync(context.RequestAborted);
            return Results.Empty;
        });
        return app;
    }
}
