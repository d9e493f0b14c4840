using System.Net;
using System.Net.WebSockets;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// Browser origins (DESIGN §3c): the gateway's own and <c>Gateway:AllowedOrigins</c> may open <c>/ws</c> and call the API;
/// any other page is refused with 403; native clients, which send no <c>Origin</c>, are not affected.
/// </summary>
public sealed class OriginTests
{
    private const string Listed = "https://chat.example.com";

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://chat.example.com.evil.example")]
    [InlineData("http://chat.example.com")]
    [InlineData("null")]
    public async Task WebSocket_upgrade_from_another_origin_is_refused_with_403(string origin)
    {
        await using var server = await StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", origin);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.WebSocketUri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Fact]
    public async Task WebSocket_upgrade_from_the_gateways_own_origin_a_listed_one_or_none_is_accepted()
    {
        await using var server = await StartAsync();
        foreach (var origin in new[] { $"http://{server.Address.Authority}", Listed, "https://CHAT.example.com:443", null })
        {
            using var socket = new ClientWebSocket();
            if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
            await socket.ConnectAsync(server.WebSocketUri, CancellationToken.None);
            Assert.Equal(WebSocketState.Open, socket.State);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Http_api_request_from_another_origin_is_refused_with_403_and_a_listed_one_gets_cors_headers()
    {
        await using var server = await StartAsync();
        var token = await server.TokenAsync("alice");
        foreach (var (origin, expected) in new (string?, HttpStatusCode)[]
        {
            ("https://evil.example", HttpStatusCode.Forbidden), (Listed, HttpStatusCode.OK),
            ($"http://{server.Address.Authority}", HttpStatusCode.OK), (null, HttpStatusCode.OK),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/conversations");
            request.Headers.Authorization = new("Bearer", token);
            if (origin is not null) request.Headers.Add("Origin", origin);
            using var response = await server.Http.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
            if (origin == Listed) Assert.Equal(Listed, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/conversations");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        using var refused = await server.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    private static Task<GatewayServer> StartAsync() =>
        GatewayServer.StartAsync(new Dictionary<string, string?> { ["Gateway:AllowedOrigins:0"] = Listed });
}
