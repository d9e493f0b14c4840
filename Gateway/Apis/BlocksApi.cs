using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Consent;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>The caller's block list (DESIGN.md §3c): <c>POST /api/blocks {user}</c>, <c>DELETE /api/blocks/{user}</c>, <c>GET /api/blocks</c>.</summary>
public static class BlocksApi
{
    public static IEndpointRouteBuilder MapBlocksApi(this IEndpointRouteBuilder app)
    {
        var blocks = app.MapGroup("/api/blocks").RequireAuthorization()
            .WithTags("Blocks")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        blocks.MapPost("/", async (BlockRequest request, HttpContext context, BlockList list, CancellationToken cancellationToken) =>
        {
            var refused = await list.BlockAsync(context.User.UserId()!, request.User, cancellationToken);
            return refused is null ? Results.NoContent() : Results.Problem(refused, statusCode: StatusCodes.Status400BadRequest);
        })
            .WithName("BlockUser")
            .WithSummary("Blocks a user")
            .WithDescription("The blocked user's one-to-one sends to the caller are refused (forbidden), it cannot add the caller to a group, "
                + "and the caller gets none of its typing, receipts or presence. Blocking a user already blocked changes nothing. "
                + "At most Consent:MaxBlocksPerUser (1,000) users; the blocked user is not told.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        blocks.MapDelete("/{user}", async (string user, HttpContext context, BlockList list, CancellationToken cancellationToken) =>
        {
            if (!Identifiers.IsValidId(user))
                return Results.Problem($"'{user}' is not a user id ([A-Za-z0-9_.-]{{1,64}})", statusCode: StatusCodes.Status400BadRequest);
            return await list.UnblockAsync(context.User.UserId()!, user, cancellationToken)
                ? Results.NoContent()
                : Results.Problem($"'{user}' is not blocked", statusCode: StatusCodes.Status404NotFound);
        })
            .WithName("UnblockUser")
            .WithSummary("Unblocks a user")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        blocks.MapGet("/", async (HttpContext context, BlockList list, CancellationToken cancellationToken) =>
        {
            var entries = await list.GetAsync(context.User.UserId()!, cancellationToken);
            return Results.Json(new BlocksPage { Items = [.. entries.Select(e => new BlockedUser { User = e.User, Since = e.Since })] },
                ProtocolJson.Default.BlocksPage);
        })
            .WithName("GetBlocks")
            .WithSummary("The users the caller blocks, by user id")
            .Produces<BlocksPage>();
        return app;
    }
}
