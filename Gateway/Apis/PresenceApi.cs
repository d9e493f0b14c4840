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
        app.MapGet("/api/presence", async (string? users, IPresenceStore presence, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrEmpty(users))
                return Results.Problem("'users' must list user ids, separated by commas", statusCode: StatusCodes.Status400BadRequest);
            var asked = users.Split(',');
            if (asked.Length > MaxUsers)
                return Results.Problem($"at most {MaxUsers} users per request", statusCode: StatusCodes.Status400BadRequest);
            if (asked.FirstOrDefault(u => !Identifiers.IsValidId(u)) is { } bad)
                return Results.Problem($"'{bad}' is not a user id ([A-Za-z0-9_.-]{{1,64}})", statusCode: StatusCodes.Status400BadRequest);
            var found = await presence.GetPresenceAsync(asked, cancellationToken);
            return Results.Json(found.Select(p => new PresenceInfo { User = p.User, Online = p.Online, Devices = p.Devices, LastSeen = p.LastSeen }).ToList(),
                ProtocolJson.Default.ListPresenceInfo);
        }).RequireAuthorization()
            .WithTags("Presence")
            .WithName("GetPresence")
            .WithSummary("Online status of up to 100 users, in the order asked")
            .WithDescription("users is a comma-separated list of user ids. lastSeen is Unix milliseconds (now, while online).")
            .Produces<List<PresenceInfo>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }
}
