using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AspireChat.Bench.Transport;

namespace AspireChat.Bench.Targets;

/// <summary>
/// The embedded Gateway as a child process (<c>dotnet AspireChat.Gateway.dll</c>, the build next to Bench), so its
/// memory is its own: the connection soak reads the server's resident set from <c>/proc/&lt;pid&gt;/status</c>
/// without the load clients in it.
/// </summary>
public sealed class GatewayProcessTarget : ChatTarget
{
    private readonly Process _process;
    private readonly string _dataDirectory;

    private GatewayProcessTarget(Process process, Uri address, string dataDirectory, string signingKey)
        : base(address, new LocalTokenSource(signingKey, TimeSpan.FromHours(12)))
    {
        (_process, _dataDirectory) = (process, dataDirectory);
    }

    public override string Description => $"gateway process (pid {_process.Id})";

    public int ProcessId => _process.Id;

    public static async Task<GatewayProcessTarget> StartAsync(IReadOnlyDictionary<string, string>? overrides, CancellationToken cancellationToken)
    {
        var gatewayDll = Path.Combine(AppContext.BaseDirectory, "AspireChat.Gateway.dll");
        if (!File.Exists(gatewayDll)) throw new FileNotFoundException("the Gateway build is not next to Bench", gatewayDll);
        var dataDirectory = EmbeddedTarget.NewDataDirectory();
        var signingKey = EmbeddedTarget.NewSigningKey();
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [gatewayDll, "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = dataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Development: the only environment that serves dev tokens, which the load's users sign in with.
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var (key, value) in EmbeddedTarget.ServerSettings(dataDirectory, signingKey, overrides))
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the Gateway");
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) Remember(errors, line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Remember(errors, line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var target = new GatewayProcessTarget(process, new Uri($"http://127.0.0.1:{port}"), dataDirectory, signingKey) { Output = errors };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"the Gateway exited with {process.ExitCode}: {string.Join('\n', errors)}");
            try
            {
                using var alive = await target.Http.GetAsync("/alive", cancellationToken).ConfigureAwait(false);
                if (alive.IsSuccessStatusCode) return target;
            }
            catch (HttpRequestException)
            {
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the Gateway did not answer /alive within 60 s");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The last lines the Gateway wrote (warnings and errors).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; private init; } = new();

    public bool HasExited => _process.HasExited;

    private static void Remember(System.Collections.Concurrent.ConcurrentQueue<string> lines, string line)
    {
        lines.Enqueue(line);
        while (lines.Count > 200) lines.TryDequeue(out _);
    }

    /// <summary>VmRSS of the Gateway process. <paramref name="collectFirst"/> cannot reach into another process: ignored.</summary>
    public override ServerMemory ReadMemory(bool collectFirst) => new(ResidentBytes(_process.Id), null, IncludesClients: false);

    /// <summary>VmRSS from <c>/proc/&lt;pid&gt;/status</c>, in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
            var kib = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            return kib * 1024;
        }
        throw new InvalidOperationException($"no VmRSS for pid {pid}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
        EmbeddedTarget.TryDelete(_dataDirectory);
    }
}
