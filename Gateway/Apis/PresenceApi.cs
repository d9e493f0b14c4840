using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Presence;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>Online status: <c>GET /api/presence?users=a,b</c> → <c>[{user, online, devices, lastSeen}]</c>, in the order asked.</summary>
public static class PresenceApi
{
    /// <summary>Most users one request may ask about.</summary>
    public const int MaxUsers = 100;

    public static IEndpointRouteBuilder MapPresenceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/presence", async (string? users, HttpContext context, IPresenceStore presence, IConsentStore consent, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrEmpty(users))
                return Results.Problem("'users' must list user ids, separated by commas", statusCode: StatusCodes.Status400BadRequest);
            var asked = users.Split(',');
            if (asked.Length > MaxUsers)
                return Results.Problem($"at most {MaxUsers} users per request", statusCode: StatusCodes.Status400BadRequest);
            if (asked.FirstOrDefault(u => !Identifiers.IsValidId(u)) is { } bad)
                return Results.Problem($"'{bad}' is not a user id ([A-Za-z0-9_.-]{{1,64}})", statusCode: StatusCodes.Status400BadRequest);
            // The caller sees nothing of users it blocks (DESIGN.md §3c): they are omitted, like users it may not see.
            var blocked = (await consent.GetBlocksAsync(context.User.UserId()!, cancellationToken)).Select(b => b.User).ToHashSet(StringComparer.Ordinal);
            List<string> visible = [.. asked.Where(u => !blocked.Contains(u))];
            IReadOnlyList<UserPresence> found = visible.Count == 0 ? [] : await presence.GetPresenceAsync(visible, cancellationToken);
            return Results.Json(found.Select(p => new PresenceInfo { User = p.User, Online = p.Online, Devices = p.Devices, LastSeen = p.LastSeen }).ToList(),
                ProtocolJson.Default.ListPresenceInfo);
        }).RequireAuthorization()
            .WithTags("Presence")
            .WithName("GetPresence")
            .WithSummary("Online status of up to 100 users, in the order asked")
            .WithDescription("users is a comma-separated list of user ids. lastSeen is Unix milliseconds (now, while online). "
                + "Users the caller blocks are omitted.")
            .Produces<List<PresenceInfo>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }
}
