using System.Net;
using AspireChat.Gateway;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Security;

/// <summary>Dev tokens only in Development, a bound on token lifetimes, and refusals that explain nothing (DESIGN §3c).</summary>
public sealed class TokenTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    [InlineData("Testing")]
    public void Gateway_refuses_to_start_with_dev_tokens_outside_development(string environment)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => BuildGateway(environment, new() { ["Auth:DevTokens"] = "true" }));
        Assert.Contains("Auth:DevTokens", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_in_production_without_dev_tokens_starts_and_serves_no_token_endpoint()
    {
        await using var app = BuildGateway("Production", []);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = Address(app) };
        using var response = await http.PostAsync("/api/dev/token", new StringContent("""{"user":"alice"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        await app.StopAsync();
    }

    [Theory]
    [InlineData(29, true, true)]
    [InlineData(31, true, false)]
    [InlineData(29, false, true)]
    [InlineData(31, false, false)]
    public async Task Token_longer_lived_than_the_maximum_is_refused_on_http_and_websocket(int days, bool withIssuedAt, bool accepted)
    {
        await using var server = await GatewayServer.StartAsync();
        var token = HandMadeTokens.Mint("alice", TimeSpan.FromDays(days), withIssuedAt);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/conversations");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(accepted ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, response.StatusCode);

        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        if (accepted)
        {
            await socket.HelloAsync(token, "d1");
        }
        else
        {
            await socket.SendAsync(new { t = "hello", token, device = "d1" });
            Assert.Equal(CloseCodes.Unauthorized, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
        }
    }

    [Fact]
    public async Task Outside_development_a_refused_token_is_not_explained()
    {
        await using var app = BuildGateway("Production", []);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = Address(app) };
        foreach (var token in new[] { HandMadeTokens.Mint("alice", TimeSpan.FromSeconds(-120)), HandMadeTokens.Mint("alice", TimeSpan.FromHours(1)) + "x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/conversations");
            request.Headers.Authorization = new("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var challenge = response.Headers.WwwAuthenticate.ToString();
            Assert.DoesNotContain("error_description", challenge, StringComparison.Ordinal);
            Assert.DoesNotContain("expired", challenge, StringComparison.OrdinalIgnoreCase);
        }
        await app.StopAsync();
    }

    [Theory]
    [InlineData("""{"t":"sync","after":"yesterday"}""", "after")]
    [InlineData("""{"t":"sync","after":1,"limit":{}}""", "limit")]
    [InlineData("""{"t":"sync","after":[1]}""", "after")]
    public void Frame_errors_name_the_field_and_never_an_internal_type(string frame, string field)
    {
        var error = Assert.Throws<FrameException>(() => FrameCodec.Read<SyncFrame>(System.Text.Encoding.UTF8.GetBytes(frame)));
        Assert.Contains($"'{field}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("AspireChat", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"t":"send","ope":0}""")]
    [InlineData("""{"t":"send","req":1,"ope":0,"to":"bob","body":{},"type":"x"}""")]
    [InlineData("""{"t":"send","req":1,"ope":0,"to":7}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""null""")]
    public void Malformed_send_frames_never_name_an_internal_type(string frame)
    {
        var error = Assert.Throws<FrameException>(() => FrameCodec.Read<SendFrame>(System.Text.Encoding.UTF8.GetBytes(frame)));
        Assert.Equal(ErrorCodes.BadFrame, error.Code);
        Assert.DoesNotContain("AspireChat", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
    }

    internal static WebApplication BuildGateway(string environment, Dictionary<string, string?> settings)
    {
        var data = TempDirectory.Create();
        var config = new Dictionary<string, string?>
        {
            ["Auth:SigningKey"] = HandMadeTokens.SigningKey,
            ["Storage:Path"] = Path.Combine(data, "store"),
            ["Push:Vapid:KeyFile"] = Path.Combine(data, "vapid.json"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) config[key] = value;
        return GatewayApp.Build(["--urls", "http://127.0.0.1:0", "--environment", environment, "--webroot", Path.Combine(AppContext.BaseDirectory, "wwwroot")],
            builder => builder.Configuration.AddInMemoryCollection(config));
    }

    internal static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
