using AspireChat.Gateway.Auth;
using AspireChat.Messaging.Push;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Mvc;

namespace AspireChat.Gateway.Apis;

/// <summary>
/// Push subscriptions of the caller's devices (docs/protocol.md, docs/configuration.md): <c>POST</c> registers one, <c>GET</c> lists the
/// caller's own, <c>DELETE ?device=…</c> and/or <c>&amp;endpoint=…</c> removes the caller's own — never another
/// user's. <c>GET /api/push/vapid</c> gives browsers the application server key, 404 when Web Push is off.
/// </summary>
public static class PushApi
{
    public static IEndpointRouteBuilder MapPushApi(this IEndpointRouteBuilder app)
    {
        var push = app.MapGroup("/api/push").WithTags("Push");

        push.MapGet("/vapid", ([FromServices] VapidKeys keys, [FromServices] PushRegistry registry) =>
            keys.Enabled && registry.EnabledKinds.Contains(PushKinds.WebPush)
                ? Results.Json(new VapidKeyResponse { PublicKey = keys.PublicKey }, ProtocolJson.Default.VapidKeyResponse)
                : Results.Problem("Web Push is not configured on this server", statusCode: StatusCodes.Status404NotFound))
            .AllowAnonymous()
            .WithName("GetVapidKey")
            .WithSummary("The VAPID application server key browsers subscribe with")
            .Produces<VapidKeyResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        var subscriptions = push.MapGroup("/subscriptions").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        subscriptions.MapPost("/", async (PushSubscriptionRequest request, HttpContext context, PushRegistry registry, CancellationToken cancellationToken) =>
        {
            var check = await registry.SubscribeAsync(context.User.UserId()!, request, cancellationToken);
            return check.Accepted is { } saved
                ? Results.Json(Info(saved), ProtocolJson.Default.PushSubscriptionInfo, statusCode: StatusCodes.Status201Created)
                : Results.Problem(check.Problem, statusCode: StatusCodes.Status400BadRequest);
        })
            .WithName("CreatePushSubscription")
            .WithSummary("Registers how to reach one of the caller's devices while it is offline")
            .WithDescription("kind is webpush (endpoint and keys from the browser), webhook (endpoint optional), fcm or apns (endpoint = device token); "
                + "it must be enabled on this server. Replaces the device's previous subscription.")
            .Produces<PushSubscriptionInfo>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        subscriptions.MapGet("/", async (HttpContext context, PushRegistry registry, CancellationToken cancellationToken) =>
            Results.Json((await registry.ListAsync(context.User.UserId()!, cancellationToken)).Select(Info).ToList(), ProtocolJson.Default.ListPushSubscriptionInfo))
            .WithName("ListPushSubscriptions")
            .WithSummary("The caller's own push subscriptions (keys are not echoed)")
            .Produces<List<PushSubscriptionInfo>>();

        subscriptions.MapDelete("/", async (string? device, string? endpoint, HttpContext context, PushRegistry registry, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrEmpty(device) && string.IsNullOrEmpty(endpoint))
                return Results.Problem("give 'device' or 'endpoint' (or both) of the subscription to remove", statusCode: StatusCodes.Status400BadRequest);
            var removed = await registry.UnsubscribeAsync(context.User.UserId()!, NullIfEmpty(device), NullIfEmpty(endpoint), cancellationToken);
            return removed > 0
                ? Results.NoContent()
                : Results.Problem("no such push subscription of yours", statusCode: StatusCodes.Status404NotFound);
        })
            .WithName("DeletePushSubscriptions")
            .WithSummary("Removes the caller's subscriptions matching device and/or endpoint")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static PushSubscriptionInfo Info(PushSubscription s) => new() { Device = s.Device, Kind = s.Kind, Endpoint = s.Endpoint, Created = s.Created };

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
