using System.Globalization;
using System.Security.Claims;
using AspireChat.Protocol;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AspireChat.Gateway.Auth;

/// <summary>
/// What a token must satisfy beyond its signature, issuer, audience and expiry — the same on every HTTP endpoint (the bearer
/// scheme's <c>OnTokenValidated</c>) and on the WebSocket (<see cref="TokenService"/>), so neither can drift (DESIGN §3c).
/// </summary>
public static class TokenRules
{
    /// <summary>Why the token of <paramref name="identity"/> is refused, or null when it is accepted.</summary>
    public static string? Refusal(ClaimsIdentity identity, DateTimeOffset now, TimeSpan maxLifetime)
    {
        var sub = identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value ?? identity.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        // Ids reach storage keys, conversation ids and URLs: only the id alphabet may pass (a NUL once reached another user's keys).
        if (!Identifiers.IsValidId(sub)) return "the token's sub is not a valid user id";
        if (Seconds(identity, JwtRegisteredClaimNames.Exp) is not { } exp) return "the token has no exp";
        var lifetime = Seconds(identity, JwtRegisteredClaimNames.Iat) is { } iat ? exp - iat : exp - now.ToUnixTimeSeconds();
        // A stolen long-lived token cannot be revoked: bound what an issuer may grant.
        if (lifetime > maxLifetime.TotalSeconds) return "the token's lifetime is longer than Auth:MaxTokenLifetime";
        return null;
    }

    private static long? Seconds(ClaimsIdentity identity, string claim) =>
        identity.FindFirst(claim)?.Value is { } value && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? (long)seconds : null;
}
