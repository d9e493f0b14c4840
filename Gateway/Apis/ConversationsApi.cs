using AspireChat.Gateway.Auth;
using AspireChat.Messaging;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>History (roaming): <c>GET /api/conversations/{conv}/messages</c>, members only.</summary>
public static class ConversationsApi
{
    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations/{conv}/messages", async (string conv, long? before, long? after, int? limit,
            HttpContext context, IChatStore store, GroupTimeline timeline, CancellationToken cancellationToken) =>
        {
            var user = context.User.UserId();
            if (!Identifiers.TryParseConversation(conv, out var ope, out var first, out var second))
                return Results.Problem($"'{conv}' is not a conversation id (s:{{a}}:{{b}} or g:{{gid}})", statusCode: StatusCodes.Status400BadRequest);
            if (limit is < 1 or > 200)
                return Results.Problem("'limit' must be from 1 to 200", statusCode: StatusCodes.Status400BadRequest);
            if (before is not null && after is not null)
                return Results.Problem("give 'before' or 'after', not both", statusCode: StatusCodes.Status400BadRequest);
            IReadOnlyList<ChatMessage>? messages;
            if (ope == Ope.Group)
            {
                // Members read within their membership periods only.
                messages = after is { } a
                    ? (await timeline.ReadAfterAsync(first, user!, a, limit ?? 50, cancellationToken))?.Items
                    : await timeline.ReadBeforeAsync(first, user!, before, limit ?? 50, cancellationToken);
            }
            else
            {
                messages = user == first || user == second
                    ? await store.ReadConversationAsync(conv, before, after, limit ?? 50, cancellationToken)
                    : null;
            }
            if (messages is null)
                return Results.Problem("only members of the conversation may read its history", statusCode: StatusCodes.Status403Forbidden);
            return Results.Json(new HistoryPage { Items = [.. messages.Select(m => m.ToFrame())] }, ProtocolJson.Default.HistoryPage);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("GetConversationMessages")
            .WithSummary("History of a conversation (roaming), ascending by cseq")
            .WithDescription("conv is s:{a}:{b} (a < b, ordinal) or g:{gid}. Without before/after: the newest 'limit' messages; "
                + "before={cseq}: the newest 'limit' below it; after={cseq}: the oldest 'limit' above it. limit is 1–200 (default 50). "
                + "Members only; a group member sees the messages of its membership periods.")
            .Produces<HistoryPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }
}
