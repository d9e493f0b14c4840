using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AspireChat.Tests.Security;

/// <summary>HS256 tokens signed with the test gateways' key, with whatever sub and lifetime a test needs.</summary>
internal static class HandMadeTokens
{
    public const string SigningKey = "test-signing-key-that-is-at-least-32-bytes-long";

    public static string Mint(string sub, TimeSpan lifetime, bool withIssuedAt = true)
    {
        var now = DateTime.UtcNow;
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, sub)]),
            Issuer = "aspirechat",
            Audience = "aspirechat",
            IssuedAt = withIssuedAt ? now : null,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}
