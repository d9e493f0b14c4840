using System.Diagnostics;

namespace AspireChat.Tests.Support;

/// <summary>
/// One of the services (a host's dll from the test's output folder) as a child process on a loopback port, so a test
/// can SIGKILL it; it is ready when <c>/health</c> answers healthy (its Kafka, Redis and id lease checks pass). Its output goes to a log file beside the test's data.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly string _dll;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string _log;
    private Process? _process;
    private StreamWriter? _output;

    private ServiceProcess(string name, string dll, int port, IReadOnlyDictionary<string, string> environment, string log) =>
        (Name, _dll, Port, _environment, _log) = (name, dll, port, environment, log);

    public string Name { get; }
    public int Port { get; }
    public Uri Address => new($"http://127.0.0.1:{Port}");
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts <paramref name="dll"/> (e.g. <c>AspireChat.Gateway.dll</c>) and waits until it answers.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, string dll, IReadOnlyDictionary<string, string> environment, string logDirectory)
    {
        // A free port is free when asked, not when the child binds it: another test may take it in between. Only the
        // first start moves to another port (a restart after Kill keeps its address).
        for (var attempt = 1; ; attempt++)
        {
            var service = new ServiceProcess(name, dll, GatewayProcess.FreePort(), environment, Path.Combine(logDirectory, $"{name}.log"));
            try
            {
                await service.StartAgainAsync();
                return service;
            }
            catch (InvalidOperationException) when (attempt < 3 && service.PortWasTaken())
            {
                await service.DisposeAsync();
            }
        }
    }

    private bool PortWasTaken()
    {
        _output?.Flush();
        return File.Exists(_log) && File.ReadAllText(_log).Contains("Address already in use", StringComparison.Ordinal);
    }

    /// <summary>Starts the process again on the same port with the same settings (after <see cref="Kill"/>).</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning) throw new InvalidOperationException($"{Name} is running");
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, _dll), "--urls", Address.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Development: the only environment where the gateway accepts Auth:DevTokens (DESIGN §3c).
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in _environment) info.Environment[key] = value;
        _output?.Dispose();
        var output = _output = new StreamWriter(_log, append: true) { AutoFlush = true };
        var process = _process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"{Name} exited with {process.ExitCode}; see {_log}");
            try
            {
                return (await http.GetAsync("/health")).IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"{Name} answers /health (its log: {_log})", TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is committed or flushed on the way out.</summary>
    public void Kill()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        if (_output is { } output) lock (output) output.Dispose();
        return ValueTask.CompletedTask;
    }
}
