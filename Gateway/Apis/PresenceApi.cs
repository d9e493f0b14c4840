using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Presence;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>
/// Online status: <c>GET /api/presence?users=a,b</c> → <c>[{user, online, devices, lastSeen}]</c>, in the order asked, for the
/// users the caller shares a conversation with (<see cref="PresenceVisibility"/>); the others are left out. <c>devices</c> is a
/// count: device names say more about a person than whether they are online.
/// </summary>
public static class PresenceApi
{
    /// <summary>Most users one request may ask about.</summary>
    public const int MaxUsers = 100;

    public static IEndpointRouteBuilder MapPresenceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/presence", async (string? users, HttpContext context, IPresenceStore presence, PresenceVisibility visibility, IConsentStore consent, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrEmpty(users))
                return Results.Problem("'users' must list user ids, separated by commas", statusCode: StatusCodes.Status400BadRequest);
            var asked = users.Split(',');
            if (asked.Length > MaxUsers)
                return Results.Problem($"at most {MaxUsers} users per request", statusCode: StatusCodes.Status400BadRequest);
            if (asked.FirstOrDefault(u => !Identifiers.IsValidId(u)) is { } bad)
                return Results.Problem($"'{bad}' is not a user id ([A-Za-z0-9_.-]{{1,64}}, not '.' or '..')", statusCode: StatusCodes.Status400BadRequest);
            var caller = context.User.UserId()!;
            // The caller sees nothing of users it blocks (DESIGN.md §3c): they are omitted, like users it may not see.
            var blocked = (await consent.GetBlocksAsync(caller, cancellationToken)).Select(b => b.User).ToHashSet(StringComparer.Ordinal);
            var visible = await visibility.VisibleAsync(caller, [.. asked.Where(u => !blocked.Contains(u))], cancellationToken);
            var found = visible.Count == 0 ? [] : await presence.GetPresenceAsync(visible, cancellationToken);
            return Results.Json(found.Select(p => new PresenceInfo { User = p.User, Online = p.Online, Devices = p.Devices.Count, LastSeen = p.LastSeen }).ToList(),
                ProtocolJson.Default.ListPresenceInfo);
        }).RequireAuthorization()
            .WithTags("Presence")
            .WithName("GetPresence")
            .WithSummary("Online status of up to 100 users the caller shares a conversation with, in the order asked")
            .WithDescription("users is a comma-separated list of user ids. Only users who share a conversation with the caller (a one-to-one "
                + "conversation with a message, or a group both are members of) are answered; the others, and users the caller blocks, are "
                + "left out. devices is how many devices are online. lastSeen is Unix milliseconds (now, while online).")
            .Produces<List<PresenceInfo>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }
}
