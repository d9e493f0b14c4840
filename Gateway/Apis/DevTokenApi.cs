using AspireChat.Gateway.Auth;
using AspireChat.Protocol;

namespace AspireChat.Gateway.Apis;

/// <summary><c>POST /api/dev/token</c>: a token for any user, only when <c>Auth:DevTokens</c> is true.</summary>
public static class DevTokenApi
{
    public static IEndpointRouteBuilder MapDevTokenApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/dev/token", (TokenRequest request, TokenService tokens) =>
            Identifiers.IsValidId(request.User)
                ? Results.Json(new TokenResponse { Token = tokens.Mint(request.User!) }, ProtocolJson.Default.TokenResponse)
                : Results.Problem("'user' must match [A-Za-z0-9_.-]{1,64} and not be '.' or '..'", statusCode: StatusCodes.Status400BadRequest))
            .AllowAnonymous()
            .WithTags("Auth")
            .WithName("CreateDevToken")
            .WithSummary("A token for any user (local runs and tests only)")
            .WithDescription("Mapped only when Auth:DevTokens is true. Production tokens are minted by the business server with the same signing key (HS256, sub = user id).")
            .Produces<TokenResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }
}
