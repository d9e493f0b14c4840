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
                : Results.Problem("'user' must match [A-Za-z0-9_.-]{1,64}", statusCode: StatusCodes.Status400BadRequest))
            .AllowAnonymous();
        return app;
    }
}
