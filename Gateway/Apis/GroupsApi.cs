using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Groups;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary>Group management (DESIGN §3): create, read, add members, remove a member or leave.</summary>
public static class GroupsApi
{
    public static IEndpointRouteBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/api/groups").RequireAuthorization();

        groups.MapPost("/", async (CreateGroupRequest request, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.CreateAsync(context.User.UserId()!, request.Name, request.Members, cancellationToken);
            return result.Refusal == GroupRefusal.None
                ? Results.Json(new CreateGroupResponse { Gid = result.Value! }, ProtocolJson.Default.CreateGroupResponse, statusCode: StatusCodes.Status201Created)
                : Refused(result.Refusal, result.Reason);
        });

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
        });

        groups.MapPost("/{gid}/members", async (string gid, AddMembersRequest request, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.AddMembersAsync(context.User.UserId()!, gid, request.Users, cancellationToken);
            return result.Refusal == GroupRefusal.None ? Results.NoContent() : Refused(result.Refusal, result.Reason);
        });

        groups.MapDelete("/{gid}/members/{uid}", async (string gid, string uid, HttpContext context, GroupService service, CancellationToken cancellationToken) =>
        {
            var result = await service.RemoveMemberAsync(context.User.UserId()!, gid, uid, cancellationToken);
            return result.Refusal == GroupRefusal.None ? Results.NoContent() : Refused(result.Refusal, result.Reason);
        });
        return app;
    }

    private static IResult Refused(GroupRefusal refusal, string? reason) => Results.Problem(reason, statusCode: refusal switch
    {
        GroupRefusal.Invalid => StatusCodes.Status400BadRequest,
        GroupRefusal.NotFound => StatusCodes.Status404NotFound,
        GroupRefusal.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status409Conflict,
    });
}
