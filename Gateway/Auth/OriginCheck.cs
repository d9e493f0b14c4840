using Microsoft.Extensions.Options;

namespace AspireChat.Gateway.Auth;

/// <summary>
/// Which browser origins may use the gateway (DESIGN §3c): a request without <c>Origin</c> (a native client) or with the
/// gateway's own origin (same scheme, host and port as the request) or one of <c>Gateway:AllowedOrigins</c>; any other
/// page a user happens to visit must not drive their session (cross-site WebSocket hijacking, CORS).
/// </summary>
public sealed class OriginCheck(IOptions<OriginOptions> options)
{
    private readonly HashSet<string> _allowed = options.Value.AllowedOrigins
        .Select(o => Normalize(o) ?? throw new InvalidOperationException($"Gateway:AllowedOrigins: '{o}' is not an origin (scheme://host[:port])"))
        .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the request's <c>Origin</c> may use the gateway.</summary>
    public bool IsAllowed(HttpRequest request) => IsAllowed(request.Headers.Origin.ToString(), request.Scheme, request.Host.Value ?? "");

    /// <summary>True when <paramref name="origin"/> may use the gateway reached at <paramref name="scheme"/>://<paramref name="host"/>.</summary>
    public bool IsAllowed(string? origin, string scheme, string host)
    {
        if (string.IsNullOrEmpty(origin)) return true;
        if (Normalize(origin) is not { } normalized) return false;
        return _allowed.Contains(normalized)
            || string.Equals(normalized, Normalize($"{scheme}://{host}"), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when <paramref name="origin"/> is one of <c>Gateway:AllowedOrigins</c> (for CORS answers).</summary>
    public bool IsListed(string origin) => Normalize(origin) is { } normalized && _allowed.Contains(normalized);

    // scheme://host:port with the port always written, so "https://a" and "https://a:443" are the same origin.
    private static string? Normalize(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query)
            ? $"{uri.Scheme}://{uri.IdnHost}:{uri.Port}"
            : null;
}
