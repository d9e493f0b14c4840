using AspireChat.Gateway.Connections;

namespace AspireChat.Gateway.Apis;

/// <summary><c>GET /ws</c>: protocol v1 over WebSocket (DESIGN §3).</summary>
public static class ChatSocketEndpoint
{
    public static IEndpointRouteBuilder MapChatSocket(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", async (HttpContext context, ChatNode node) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
                return Results.Problem("GET /ws expects a WebSocket upgrade", statusCode: StatusCodes.Status400BadRequest);
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await new ChatConnection(socket, node).RunAsync(context.RequestAborted);
            return Results.Empty;
        });
        return app;
    }
}
