using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>Group management (docs/protocol.md): create, read, add members, remove a member or leave.</summary>
public static class GroupsApi
{
    public static IEndpointRouteBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/api/groups").RequireAuthorization()
            .WithTags("Groups")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        groups.MapPost("/", async (CreateGroupRequest request, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.CreateAsync(context.User.UserId()!, request.Name, request.Members, cancellationToken);
            return result.Refusal == GroupRefusal.None
                ? Results.Json(new CreateGroupResponse { Gid = result.Value! }, ProtocolJson.Default.CreateGroupResponse, statusCode: StatusCodes.Status201Created)
                : Refused(result.Refusal, result.Reason);
        })
            .WithName("CreateGroup")
            .WithSummary("Creates a group; the caller becomes its owner")
            .WithDescription("name is 1–100 characters; members are user ids (the caller is added), at most Groups:MaxAddPerRequest (500). "
                + "403 when a member blocks the caller; 429 past Groups:MaxCreatedPerHour (50) groups created by the caller in the last hour. "
                + "Answers once the group exists.")
            .Produces<CreateGroupResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        groups.MapGet("/{gid}", async (string gid, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.GetAsync(context.User.UserId()!, gid, cancellationToken);
            if (result.Refusal != GroupRefusal.None) return Refused(result.Refusal, result.Reason);
            var (group, members) = result.Value;
            return Results.Json(new GroupInfoResponse
            {
                Gid = group.Gid,
                Name = group.Name,
                Owner = group.Owner,
                Members = [.. members.Select(m => new GroupMemberInfo { User = m.User, Role = m.Role, Joined = m.Joined })],
            }, ProtocolJson.Default.GroupInfoResponse);
        })
            .WithName("GetGroup")
            .WithSummary("A group and its members (members only)")
            .Produces<GroupInfoResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        groups.MapPost("/{gid}/members", async (string gid, AddMembersRequest request, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.AddMembersAsync(context.User.UserId()!, gid, request.Users, cancellationToken);
            return result.Refusal == GroupRefusal.None ? Results.NoContent() : Refused(result.Refusal, result.Reason);
        })
            .WithName("AddGroupMembers")
            .WithSummary("Adds members (owner and admins)")
            .WithDescription("At most Groups:MaxAddPerRequest (500) users per request; 403 when the caller may not manage the group or one of "
                + "the users blocks the caller. Users already in the group are ignored. Answers once the change is applied: members join at the "
                + "cseq of the event that added them.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        groups.MapDelete("/{gid}/members/{uid}", async (string gid, string uid, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.RemoveMemberAsync(context.User.UserId()!, gid, uid, cancellationToken);
            return result.Refusal == GroupRefusal.None ? Results.NoContent() : Refused(result.Refusal, result.Reason);
        })
            .WithName("RemoveGroupMember")
            .WithSummary("Removes a member, or leaves when uid is the caller")
            .WithDescription("The owner and admins may remove members; only the owner may remove an admin; the owner cannot leave (409).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static IResult Refused(GroupRefusal refusal, string? reason) => Results.Problem(reason, statusCode: refusal switch
    {
        GroupRefusal.Invalid => StatusCodes.Status400BadRequest,
        GroupRefusal.NotFound => StatusCodes.Status404NotFound,
        GroupRefusal.Forbidden => StatusCodes.Status403Forbidden,
        GroupRefusal.TooMany => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status409Conflict,
    });
}
