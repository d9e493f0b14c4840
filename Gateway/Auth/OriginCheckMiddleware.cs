namespace AspireChat.Gateway.Auth;

/// <summary>Refuses an HTTP request from a browser origin <see cref="OriginCheck"/> does not allow, with 403 problem details.</summary>
public static class OriginCheckMiddleware
{
    public static IApplicationBuilder UseOriginCheck(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.RequestServices.GetRequiredService<OriginCheck>().IsAllowed(context.Request))
        {
            await next(context);
            return;
        }
        await RefuseAsync(context);
    });

    /// <summary>Answers 403: the origin may not use this gateway.</summary>
    public static Task RefuseAsync(HttpContext context) =>
        Results.Problem("this origin may not use the gateway (Gateway:AllowedOrigins)", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
}
