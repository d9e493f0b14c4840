using System.Net;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>The consent HTTP calls the security tests make, each asserting it succeeded.</summary>
internal static class ConsentRequests
{
    public static async Task BlockAsync(GatewayServer server, string blocker, string blocked)
    {
        using var response = await server.RequestAsync(blocker, HttpMethod.Post, "/api/blocks", new { user = blocked });
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    public static async Task UnblockAsync(GatewayServer server, string blocker, string blocked)
    {
        using var response = await server.RequestAsync(blocker, HttpMethod.Delete, $"/api/blocks/{blocked}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    public static async Task MuteAsync(GatewayServer server, string user, string conv, bool muted)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Put, $"/api/conversations/{conv}/settings", new { muted });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
