using Garnet;
using StackExchange.Redis;

namespace AspireChat.Tests.Support;

/// <summary>A Garnet server in this process on a free loopback port, with Lua on (the adapters' atomic steps are scripts).</summary>
public sealed class GarnetHost : IDisposable
{
    private readonly GarnetServer _server;

    public GarnetHost()
    {
        Port = LocalRedis.FreePort();
        // Small memory: a test server holds a few thousand keys, and several run at once on the build machine.
        _server = new GarnetServer(["--port", Port.ToString(), "--bind", "127.0.0.1", "--lua",
            "--memory", "64m", "--page", "1m", "--index", "1m", "--logger-level", "Warning"]);
        _server.Start();
    }

    public int Port { get; }

    public string ConnectionString => LocalRedis.ConnectionString(Port);

    public void Dispose() => _server.Dispose();
}

/// <summary>One in-process Garnet server and a client to it, for one test class.</summary>
public sealed class GarnetFixture : IAsyncLifetime
{
    public GarnetHost Server { get; } = new();

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync() => Redis = await LocalRedis.ConnectAsync(Server.ConnectionString);

    public async Task DisposeAsync()
    {
        await Redis.DisposeAsync();
        Server.Dispose();
    }
}
