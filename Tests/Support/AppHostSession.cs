using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AspireChat.Protocol;

namespace AspireChat.Tests.Support;

/// <summary>
/// The AppHost's distributed topology on the local stand-ins, started by Aspire.Hosting.Testing with a store of its own (the
/// stand-ins' PostgreSQL cluster in a folder of the test's),
/// and devices connected through the gateway endpoint (the proxy that spreads connections over the replicas).
/// </summary>
public sealed class AppHostSession : IAsyncDisposable
{
    private readonly DistributedApplication _app;
    private readonly HttpClient _http;

    private AppHostSession(DistributedApplication app)
    {
        _app = app;
        _http = app.CreateHttpClient("gateway");
    }

    public DistributedApplication App => _app;

    public HttpClient Http => _http;

    /// <summary>Starts every service and waits until each is healthy; <paramref name="configure"/> may add settings per service.</summary>
    public static async Task<AppHostSession> StartAsync(string data, CancellationToken cancellationToken, bool dashboard = false, Action<IDistributedApplicationTestingBuilder>? configure = null)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard },
            ["AspireChat:Containers=false", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00",
             $"AspireChat:PostgresData={Path.Combine(data, "postgres")}"], cancellationToken);
        builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "gateway"))
            .WithEnvironment("Auth__KeyFile", Path.Combine(data, "signing.key"));
        configure?.Invoke(builder);
        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        foreach (var name in new[] { "standins", "idservice", "deliveryworker", "pushservice", "gateway" })
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, cancellationToken);
        return new AppHostSession(app);
    }

    public async Task<string> TokenAsync(string user, CancellationToken cancellationToken = default)
    {
        var response = await _http.PostAsJsonAsync("/api/dev/token", new TokenRequest { User = user }, ProtocolJson.Default.TokenRequest, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.TokenResponse, cancellationToken))!.Token;
    }

    public Uri WebSocketUri => new($"ws://{_http.BaseAddress!.Authority}/ws");

    /// <summary>A device welcomed through the gateway endpoint.</summary>
    public async Task<TestSocket> ConnectAsync(string user, string device, CancellationToken cancellationToken = default)
    {
        var socket = await TestSocket.OpenAsync(WebSocketUri);
        await socket.HelloAsync(await TokenAsync(user, cancellationToken), device);
        return socket;
    }

    /// <summary>
    /// A device of <paramref name="user"/> on another gateway node than <paramref name="other"/>: connects (as devices
    /// <c>{device}0</c>, <c>{device}1</c>, …) until the proxy puts one there, and closes the rest.
    /// </summary>
    public async Task<TestSocket> ConnectElsewhereAsync(TestSocket other, string user, string device, CancellationToken cancellationToken = default)
    {
        var tried = new List<TestSocket>();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var socket = await ConnectAsync(user, $"{device}{attempt}", cancellationToken);
            if (socket.Welcome.GetProperty("node").GetString() != other.Welcome.GetProperty("node").GetString())
            {
                foreach (var same in tried) await same.DisposeAsync();
                return socket;
            }
            tried.Add(socket);
        }
        foreach (var same in tried) await same.DisposeAsync();
        throw new Xunit.Sdk.XunitException("every connection landed on one gateway node");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }
}
