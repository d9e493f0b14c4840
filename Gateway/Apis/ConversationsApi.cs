using AspireChat.Gateway.Auth;
using AspireChat.Messaging;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Conversations;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Operations;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>
/// The conversation list (<c>GET /api/conversations</c>), history (roaming: <c>GET /api/conversations/{conv}/messages</c>)
/// receipts (<c>GET /api/conversations/{conv}/receipts</c>) and the caller's settings of a conversation
/// (<c>PUT /api/conversations/{conv}/settings</c>: mute); members only.
/// </summary>
public static class ConversationsApi
{
    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations", async (int? limit, long? before, HttpContext context, ConversationList list, IConsentStore consent,
            MessageViews views, CancellationToken cancellationToken) =>
        {
            if (limit is < 1 or > 200)
                return Results.Problem("'limit' must be from 1 to 200", statusCode: StatusCodes.Status400BadRequest);
            var page = await list.ListAsync(context.User.UserId()!, before, limit ?? 50, cancellationToken);
            var muted = page.Items.Count == 0 ? null
                : await consent.FindMutedConversationsAsync(context.User.UserId()!, [.. page.Items.Select(i => i.Conv)], cancellationToken);
            // Each last message in its current state (edited, recalled).
            var lasts = await views.ShowAsync([.. page.Items.Select(i => i.Last)], cancellationToken);
            return Results.Json(new ConversationPage
            {
                Items = [.. page.Items.Select((i, k) => new ConversationItem
                {
                    Conv = i.Conv, Ope = i.Ope, With = i.With, Gid = i.Group?.Gid, Name = i.Group?.Name,
                    Last = lasts[k], Unread = i.Unread, Mentions = i.Mentions, Read = i.Read, Ts = i.Last.Ts, Muted = muted?.Contains(i.Conv) == true,
                })],
                Next = page.Next,
            }, ProtocolJson.Default.ConversationPage);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("ListConversations")
            .WithSummary("The caller's conversations, most recent activity first, with unread counts and read positions")
            .WithDescription("Served from the per-user conversation index. limit is 1–200 (default 50); before={ts} (Unix ms) gives the "
                + "conversations whose last activity is older; next is the before of the following page, absent on the last page. "
                + "unread counts the messages after read that others sent (membership events and operations are not counted); mentions the unread "
                + "messages that mention the caller. last is the newest message or membership event in its current state. "
                + "muted is true on a conversation the caller muted (absent otherwise).")
            .Produces<ConversationPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapGet("/api/conversations/{conv}/receipts", async (string conv, HttpContext context, ConversationMembership membership, IConversationIndex store,
            IConsentStore consent, CancellationToken cancellationToken) =>
        {
            var user = context.User.UserId()!;
            var access = await membership.CheckAsync(user, conv, cancellationToken);
            if (!access.Allowed) return Refused(access);
            // The caller sees nothing of the receipts of users it blocks (DESIGN.md §3c).
            var blocked = (await consent.GetBlocksAsync(user, cancellationToken)).Select(b => b.User).ToHashSet(StringComparer.Ordinal);
            var others = (await membership.OthersAsync(access, user, cancellationToken)).Where(o => !blocked.Contains(o)).ToList();
            var receipts = await store.GetReceiptsAsync(conv, others, cancellationToken);
            return Results.Json(new ReceiptsPage { Items = [.. receipts.Select(r => new ReceiptItem { User = r.User, Delivered = r.Delivered, Read = r.Read })] },
                ProtocolJson.Default.ReceiptsPage);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("GetConversationReceipts")
            .WithSummary("How far each other member got in a conversation: delivered and read cseq")
            .WithDescription("delivered is the highest cseq one of the member's devices acknowledged, read the highest it marked read "
                + "(0: nothing yet). Members only; large groups too (they get no receipt frames). Users the caller blocks are omitted.")
            .Produces<ReceiptsPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/conversations/{conv}/messages", async (string conv, long? before, long? after, int? limit,
            HttpContext context, ITimelineStore store, GroupTimeline timeline, MessageViews views, CancellationToken cancellationToken) =>
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
            return Results.Json(new HistoryPage { Items = await views.ShowAsync(messages, cancellationToken) }, ProtocolJson.Default.HistoryPage);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("GetConversationMessages")
            .WithSummary("History of a conversation (roaming), ascending by cseq")
            .WithDescription("conv is s:{a}:{b} (a < b, ordinal) or g:{gid}. Without before/after: the newest 'limit' messages; "
                + "before={cseq}: the newest 'limit' below it; after={cseq}: the oldest 'limit' above it. limit is 1–200 (default 50). "
                + "Members only; a group member sees the messages of its membership periods. Operation entries (types -10…-13) are "
                + "listed at their cseq; every message is shown in its current state (edited, recalled, reactions, pinned).")
            .Produces<HistoryPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        app.MapGet("/api/conversations/{conv}/messages/{id}", async (string conv, string id, HttpContext context, IGroupStore groups,
            MessageViews views, CancellationToken cancellationToken) =>
        {
            var user = context.User.UserId()!;
            if (await HistoryRefusedAsync(conv, user, groups, cancellationToken) is { } refused) return refused;
            var message = OperationRequests.ParseId(id) is { } messageId ? await views.GetAsync(user, conv, messageId, cancellationToken) : null;
            return message is null
                ? Results.Problem($"no message '{id}' in '{conv}' that you may read", statusCode: StatusCodes.Status404NotFound)
                : Results.Json(message, ProtocolJson.Default.MsgFrame);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("GetConversationMessage")
            .WithSummary("One message in its current state, with every version (edits)")
            .WithDescription("The message (type ≥ 0) in its current state plus edits: [{body, ex, ts}], every version oldest first, the original "
                + "included (empty once recalled). 404 for an unknown id, an operation entry or event, or a message outside the caller's membership.")
            .Produces<MsgFrame>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/conversations/{conv}/pins", async (string conv, HttpContext context, IGroupStore groups, MessageViews views,
            CancellationToken cancellationToken) =>
        {
            var user = context.User.UserId()!;
            if (await HistoryRefusedAsync(conv, user, groups, cancellationToken) is { } refused) return refused;
            return Results.Json(new PinsPage { Items = await views.PinsAsync(user, conv, cancellationToken) }, ProtocolJson.Default.PinsPage);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("GetConversationPins")
            .WithSummary("The pinned messages of a conversation, most recently pinned first")
            .WithDescription("Each in its current state; at most 100; only messages the caller may read.")
            .Produces<PinsPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        app.MapPut("/api/conversations/{conv}/settings", async (string conv, ConversationSettings settings, HttpContext context,
            ConversationMembership membership, IConsentStore consent, CancellationToken cancellationToken) =>
        {
            var user = context.User.UserId()!;
            var access = await membership.CheckAsync(user, conv, cancellationToken);
            if (!access.Allowed) return Refused(access);
            await consent.SetMutedAsync(user, conv, settings.Muted, cancellationToken);
            return Results.Json(settings, ProtocolJson.Default.ConversationSettings);
        }).RequireAuthorization()
            .WithTags("Conversations")
            .WithName("PutConversationSettings")
            .WithSummary("The caller's own settings of a conversation: muted")
            .WithDescription("muted: true sends the caller no push notifications for this conversation (its messages still arrive; "
                + "a message that mentions the caller still notifies); the list shows muted: true. Members only. Answers the settings now in force.")
            .Produces<ConversationSettings>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    // The access rule of history: a party of the one-to-one conversation, or a member of the group at some time (400, 403).
    private static async ValueTask<IResult?> HistoryRefusedAsync(string conv, string user, IGroupStore groups, CancellationToken cancellationToken)
    {
        if (!Identifiers.TryParseConversation(conv, out var ope, out var first, out var second))
            return Results.Problem($"'{conv}' is not a conversation id (s:{{a}}:{{b}} or g:{{gid}})", statusCode: StatusCodes.Status400BadRequest);
        var member = ope == Ope.Group ? (await groups.GetMembershipAsync(first, user, cancellationToken)).Count > 0 : user == first || user == second;
        return member ? null : Results.Problem("only members of the conversation may read it", statusCode: StatusCodes.Status403Forbidden);
    }

    private static IResult Refused(ConversationAccess access) => Results.Problem(access.Message, statusCode: access.Code switch
    {
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status400BadRequest,
    });
}
