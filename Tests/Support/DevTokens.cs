using System.Net.Http.Json;
using AspireChat.Protocol;

namespace AspireChat.Tests.Support;

/// <summary>Dev tokens from a Gateway's <c>POST /api/dev/token</c>, for the test hosts of every kind.</summary>
public static class DevTokens
{
    public static async Task<string> RequestAsync(HttpClient http, string user)
    {
        var response = await http.PostAsJsonAsync("/api/dev/token", new TokenRequest { User = user }, ProtocolJson.Default.TokenRequest);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.TokenResponse))!.Token;
    }
}
