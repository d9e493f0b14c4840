using AspireChat.Bench.Transport;

namespace AspireChat.Bench.Targets;

/// <summary>
/// A server Bench did not start: a deployment, or the AppHost topology's gateway endpoint. Tokens come from its
/// <c>POST /api/dev/token</c> (the server must run with <c>Auth:DevTokens=true</c>), or are minted locally when the
/// caller knows its <c>Auth:SigningKey</c>. Its send and frame rate limits must be raised for load (<c>Limits:SendsPerSecond</c>, <c>Limits:FramesPerSecond</c>).
/// </summary>
public sealed class UrlTarget : ChatTarget
{
    public UrlTarget(Uri url, string? signingKey) : base(url, null!)
    {
        Tokens = signingKey is null ? new DevTokenSource(Http) : new LocalTokenSource(signingKey, TimeSpan.FromHours(12));
    }

    public override string Description => HttpBase.ToString();
}
