namespace AspireChat.Gateway.Auth;

/// <summary><c>Auth:*</c> settings (docs/protocol.md, docs/configuration.md).</summary>
public sealed class AuthOptions
{
    /// <summary>Serve <c>POST /api/dev/token</c> (local runs and tests only): refused at start outside Development.</summary>
    public bool DevTokens { get; set; }
    /// <summary>HS256 key (at least 32 bytes of text). Absent with no authority: a key kept in <see cref="KeyFile"/>.</summary>
    public string? SigningKey { get; set; }
    /// <summary>An OIDC authority whose tokens are accepted instead of HS256 ones.</summary>
    public string? Authority { get; set; }
    /// <summary>Audience checked for authority tokens.</summary>
    public string? Audience { get; set; }
    /// <summary>Where the embedded default keeps the signing key it generated.</summary>
    public string KeyFile { get; set; } = "data/signing.key";
    /// <summary>Lifetime of dev tokens.</summary>
    public TimeSpan DevTokenLifetime { get; set; } = TimeSpan.FromDays(7);
    /// <summary>Longest lifetime a token may have (<c>exp − iat</c>, or <c>exp − now</c> without <c>iat</c>); longer ones are refused.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    public const string Issuer = "aspirechat";
    public const string TokenAudience = "aspirechat";
}
