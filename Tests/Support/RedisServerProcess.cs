using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace AspireChat.Tests.Support;

/// <summary>
/// A <c>redis-server</c> of the test's own on a free loopback port, without persistence (<c>--save '' --appendonly no</c>).
/// It can be killed and started again on the same port, as a Redis outage. Needs the Debian package <c>redis-server</c>
/// (<see cref="Prerequisites.RedisServer"/>; test.sh installs it).
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private Process? _process;

    private readonly string? _dataDirectory;

    private RedisServerProcess(int port, string? dataDirectory) => (Port, _dataDirectory) = (port, dataDirectory);

    public int Port { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// For StackExchange.Redis: fails fast while the server is away and retries the connection every half second
    /// (the adapters' registration sets the same backlog policy).
    /// </summary>
    public string ConnectionString => LocalRedis.ConnectionString(Port);

    /// <param name="dataDirectory">
    /// With a folder, the server keeps an append-only file there, written at every command (<c>appendfsync always</c>),
    /// so a kill and a start again is an outage that keeps the keys, as a production Redis with persistence; without
    /// one it starts empty every time.
    /// </param>
    public static async Task<RedisServerProcess> StartAsync(string? dataDirectory = null)
    {
        // Before the port is taken: without the program the test fails here, at once, saying what to install.
        Prerequisites.RedisServer();
        var server = new RedisServerProcess(LocalRedis.FreePort(), dataDirectory);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits until it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("redis-server is running");
        var start = new ProcessStartInfo(Prerequisites.RedisServer())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] persistence = _dataDirectory is null
            ? ["--appendonly", "no"]
            : ["--appendonly", "yes", "--appendfsync", "always", "--dir", _dataDirectory];
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no" }.Concat(persistence))
            start.ArgumentList.Add(arg);
        var output = new StringBuilder();
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (!await LocalRedis.AnswersPingAsync(Port))
        {
            if (_process.HasExited || clock.Elapsed > StartTimeout)
            {
                string log;
                lock (output) log = output.ToString();
                throw new InvalidOperationException($"redis-server on port {Port} did not come up:\n{log}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Kills the server (SIGKILL): every key is gone, as after a crash without persistence.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}

/// <summary>What the Redis and Garnet test servers share: a free port, a PING probe, the client connection string.</summary>
public static class LocalRedis
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string ConnectionString(int port) =>
        $"127.0.0.1:{port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,connectRetry=1,allowAdmin=true";

    /// <summary>A client as the adapters' registration sets it up: commands fail fast while the server is away; reconnects every half second.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    public static async Task<bool> AnswersPingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>One <c>redis-server</c> and a client to it, for one test class.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public RedisServerProcess Server { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServerProcess.StartAsync();
        Redis = await LocalRedis.ConnectAsync(Server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Server.DisposeAsync();
    }
}
