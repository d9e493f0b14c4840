using System.Net.Http.Json;
using AspireChat.Gateway;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Http.Features;

namespace AspireChat.Tests.Support;

/// <summary>The real Gateway (embedded mode) on a real Kestrel socket on loopback, with its own data folder.</summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private GatewayServer(WebApplication app, Uri address, string dataDirectory)
    {
        (_app, Address, DataDirectory) = (app, address, dataDirectory);
        Http = new HttpClient { BaseAddress = address };
    }

    public Uri Address { get; }
    public int Port => Address.Port;
    public Uri WebSocketUri => new($"ws://{Address.Authority}/ws");
    public string DataDirectory { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server on <paramref name="dataDirectory"/> (a fresh one when null) and loopback port
    /// <paramref name="port"/> (any free one when 0): a restart on the same folder and port is the same server to its clients.
    /// <paramref name="configure"/> may replace services (e.g. trust a test endpoint's certificate).</summary>
    public static async Task<GatewayServer> StartAsync(IDictionary<string, string?>? settings = null, string? dataDirectory = null,
        Action<WebApplicationBuilder>? configure = null, int port = 0)
    {
        dataDirectory ??= TempDirectory.Create();
        var config = new Dictionary<string, string?>
        {
            ["Auth:DevTokens"] = "true",
            ["Auth:SigningKey"] = "test-signing-key-that-is-at-least-32-bytes-long",
            ["Storage:Path"] = Path.Combine(dataDirectory, "store"),
            ["Push:Vapid:KeyFile"] = Path.Combine(dataDirectory, "vapid.json"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) config[key] = value;

        // Development: the only environment where the gateway accepts Auth:DevTokens (DESIGN §3c).
        // The web client's files are copied beside the tests (Tests.csproj), whatever the working folder is.
        var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var app = GatewayApp.Build(["--urls", $"http://127.0.0.1:{port}", "--environment", "Development", "--webroot", webRoot], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A refused start still opened the store: release it (and its folder's lock) for the next start.
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new GatewayServer(app, new Uri(address), dataDirectory);
    }

    /// <summary>A dev token for <paramref name="user"/>.</summary>
    public Task<string> TokenAsync(string user) => DevTokens.RequestAsync(Http, user);

    /// <summary>A raw protocol socket, welcomed as <paramref name="user"/> on <paramref name="device"/>.</summary>
    public async Task<TestSocket> ConnectAsync(string user, string device = "d1", long? cursor = null)
    {
        // The token first: the hello timeout runs from the socket's open, and a token request can take a while on a busy machine.
        var token = await TokenAsync(user);
        var socket = await TestSocket.OpenAsync(WebSocketUri);
        await socket.HelloAsync(token, device, cursor);
        return socket;
    }

    /// <summary>An HTTP request as <paramref name="user"/> (bearer dev token).</summary>
    public async Task<HttpResponseMessage> RequestAsync(string user, HttpMethod method, string url, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new("Bearer", await TokenAsync(user));
        if (body is not null) request.Content = JsonContent.Create(body);
        return await Http.SendAsync(request);
    }

    /// <summary>Creates a group owned by <paramref name="owner"/>; returns its gid.</summary>
    public async Task<string> CreateGroupAsync(string owner, params string[] members)
    {
        using var response = await RequestAsync(owner, HttpMethod.Post, "/api/groups", new { name = "test group", members });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.CreateGroupResponse))!.Gid;
    }

    /// <summary>
    /// Stops the server without waiting for its clients: sockets still open after <paramref name="grace"/> are aborted.
    /// (The Gateway does not close its sockets on shutdown, so a graceful stop waits out the host's whole shutdown timeout.)
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        await _app.StopAsync(timeout.Token);
        _stopped = true;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_stopped) await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Fresh folders under the system temp folder.</summary>
public static class TempDirectory
{
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "aspirechat-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(path);
        return path;
    }
}
