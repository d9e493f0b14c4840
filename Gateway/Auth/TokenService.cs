using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AspireChat.Gateway.Auth;

/// <summary>Mints dev tokens and validates the token of a WebSocket <c>hello</c> exactly as the bearer scheme does.</summary>
public sealed class TokenService(IOptionsMonitor<JwtBearerOptions> bearer, IOptions<AuthOptions> auth, TimeProvider time) : AspireChat.Messaging.Delivery.ITokenValidator
{
    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>The user id (<c>sub</c>) of a valid token; null otherwise.</summary>
    public async ValueTask<string?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 8192) return null;
        var options = bearer.Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = options.TokenValidationParameters.Clone();
        if (options.ConfigurationManager is { } manager)
        {
            var configuration = await manager.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
            parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], configuration.Issuer];
            parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. configuration.SigningKeys];
        }
        var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid || TokenRules.Refusal(result.ClaimsIdentity, time.GetUtcNow(), auth.Value.MaxTokenLifetime) is not null) return null;
        return result.ClaimsIdentity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value ?? result.ClaimsIdentity.FindFirst(ClaimTypes.NameIdentifier)?.Value;
    }

    /// <summary>An HS256 token for <paramref name="user"/> (dev tokens).</summary>
    public string Mint(string user)
    {
        var options = bearer.Get(JwtBearerDefaults.AuthenticationScheme);
        var key = options.TokenValidationParameters.IssuerSigningKey
            ?? throw new InvalidOperationException("dev tokens need an HS256 signing key");
        var now = time.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, user)]),
            Issuer = AuthOptions.Issuer,
            Audience = AuthOptions.TokenAudience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + auth.Value.DevTokenLifetime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }
}

/// <summary>Reads the authenticated user id from a request's principal.</summary>
public static class UserClaims
{
    public static string? UserId(this ClaimsPrincipal principal) =>
        principal.FindFirst(JwtRegisteredClaimNames.Sub)?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value;
}
