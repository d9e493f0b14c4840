using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using AspireChat.Protocol;

namespace AspireChat.Tests.Support;

/// <summary>The Gateway as a child process (embedded mode) on a data folder, so a test can kill -9 it.</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    public const string SigningKey = "test-signing-key-that-is-at-least-32-bytes-long";
    private readonly Process _process;

    private GatewayProcess(Process process, Uri address) => (_process, Address) = (process, address);

    public Uri Address { get; }
    public Uri WebSocketUri => new($"ws://{Address.Authority}/ws");

    public static async Task<GatewayProcess> StartAsync(string dataDirectory, int? port = null)
    {
        port ??= FreePort();
        var gatewayDll = Path.Combine(AppContext.BaseDirectory, "AspireChat.Gateway.dll");
        var info = new ProcessStartInfo("dotnet", [gatewayDll, "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = dataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Development: the only environment where the gateway accepts Auth:DevTokens (DESIGN §3c).
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["Storage__Path"] = Path.Combine(dataDirectory, "store");
        info.Environment["Auth__DevTokens"] = "true";
        info.Environment["Auth__SigningKey"] = SigningKey;
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var gateway = new GatewayProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"the gateway exited with {process.ExitCode}");
            try
            {
                return (await http.GetAsync("/alive")).IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, "the gateway answers /alive", TimeSpan.FromSeconds(60));
        return gateway;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async Task<string> TokenAsync(string user)
    {
        using var http = new HttpClient { BaseAddress = Address };
        return await DevTokens.RequestAsync(http, user);
    }

    public async Task<TestSocket> ConnectAsync(string user, string device = "d1", long? cursor = null)
    {
        var socket = await TestSocket.OpenAsync(WebSocketUri);
        await socket.HelloAsync(await TokenAsync(user), device, cursor);
        return socket;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
