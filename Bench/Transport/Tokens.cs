using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AspireChat.Protocol;

namespace AspireChat.Bench.Transport;

/// <summary>Where the load clients get their bearer tokens.</summary>
public interface ITokenSource
{
    ValueTask<string> TokenAsync(string user, CancellationToken cancellationToken);
}

/// <summary>
/// Mints HS256 tokens the way the Gateway's dev tokens are made (issuer and audience <c>aspirechat</c>, <c>sub</c> =
/// user), from the server's <c>Auth:SigningKey</c>. Used when Bench knows the key: no HTTP round trip per user,
/// which matters when 20,000 connections open.
/// </summary>
public sealed class LocalTokenSource(string signingKey, TimeSpan lifetime) : ITokenSource
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(signingKey);
    private static readonly string Header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);

    public ValueTask<string> TokenAsync(string user, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = user,
            ["iss"] = "aspirechat",
            ["aud"] = "aspirechat",
            ["iat"] = now,
            ["nbf"] = now - 60,
            ["exp"] = now + (long)lifetime.TotalSeconds,
        }, BenchJson.Default.DictionaryStringObject);
        var unsigned = Header + "." + Base64Url(payload);
        var signature = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(unsigned));
        return ValueTask.FromResult(unsigned + "." + Base64Url(signature));
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Dev tokens from the server's <c>POST /api/dev/token</c> (served when <c>Auth:DevTokens</c> is true), cached per user.</summary>
public sealed class DevTokenSource(HttpClient http) : ITokenSource
{
    private readonly ConcurrentDictionary<string, Task<string>> _tokens = new(StringComparer.Ordinal);

    public ValueTask<string> TokenAsync(string user, CancellationToken cancellationToken) =>
        new(_tokens.GetOrAdd(user, u => FetchAsync(u, cancellationToken)));

    private async Task<string> FetchAsync(string user, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/api/dev/token", new TokenRequest { User = user }, ProtocolJson.Default.TokenRequest, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"POST /api/dev/token answered {(int)response.StatusCode}: the server must run with Auth:DevTokens=true (or give Bench --signing-key)");
        }
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.TokenResponse, cancellationToken))!.Token;
    }
}
