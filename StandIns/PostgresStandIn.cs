using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AspireChat.StandIns;

/// <summary>
/// A PostgreSQL cluster from the machine's own installation (Debian: <c>apt-get install -y postgresql</c>), with its data in
/// <c>StandIns:PostgresData</c> (the AppHost's <c>data/postgres</c>), created by <c>initdb</c> on first start and kept
/// between runs. The server refuses to run as root, so as root the folder belongs to the <c>postgres</c> user and the
/// server runs as that user. It runs behind a shell holding a pipe from this process, so it stops when this process does,
/// however it ends. Healthy once the <c>aspirechat</c> database accepts connections.
/// </summary>
public sealed partial class PostgresStandIn(IOptions<StandInsOptions> options, ILogger<PostgresStandIn> logger) : IHostedService, IHealthCheck, IDisposable
{
    /// <summary>The role and the database the services use (trust authentication on loopback only).</summary>
    public const string User = "chat", Database = "aspirechat";

    private Process? _server;
    private bool _ready;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (port, data) = (options.Value.PostgresPort, Path.GetFullPath(options.Value.PostgresData));
        var bin = BinDirectory();
        var asRoot = Environment.UserName == "root";
        Directory.CreateDirectory(data);
        if (asRoot)
        {
            // The AppHost's data folder is private (0700, it holds key files): the postgres user must still pass through it
            // to reach its own folder, so it gets traverse-only rights there (0711: no listing; the key files stay 0600).
            var parent = Path.GetDirectoryName(data)!;
            if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(parent).HasFlag(UnixFileMode.OtherExecute))
                File.SetUnixFileMode(parent, File.GetUnixFileMode(parent) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
            await RunAsync(Command(false, "chown", "-R", "postgres:postgres", data), cancellationToken).ConfigureAwait(false);
        }
        if (!File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            await RunAsync(Command(asRoot, Path.Combine(bin, "initdb"), "-D", data, "-U", User, "--auth=trust", "-E", "UTF8"), cancellationToken).ConfigureAwait(false);
            LogCreated(logger, data);
        }
        StopLeftover(data);

        var start = Command(asRoot, "/bin/sh", "-c", "\"$@\" & pid=$!; read _; kill -INT $pid; wait $pid", "sh",
            Path.Combine(bin, "postgres"), "-D", data, "-p", $"{port}", "-k", data, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200");
        start.RedirectStandardInput = true;
        _server = Process.Start(start) ?? throw new InvalidOperationException("postgres did not start");
        await WaitUntilAcceptingAsync(port, cancellationToken).ConfigureAwait(false);
        await CreateDatabaseAsync(port, cancellationToken).ConfigureAwait(false);
        _ready = true;
        LogStarted(logger, port, data);
    }

    /// <summary>The services' connection string for a server on <paramref name="port"/> (the AppHost builds the same).</summary>
    public static string ConnectionString(int port, string database = Database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = User, Database = database }.ConnectionString;

    private async Task WaitUntilAcceptingAsync(int port, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString(port, "postgres"));
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException) when (!_server!.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                // Starting up, or replaying its log after a crash: try again shortly.
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task CreateDatabaseAsync(int port, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(port, "postgres"));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = Database } } };
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null) return;
        await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // A server of this folder still running (its stand-ins process was killed before the pipe could stop it): stop it
    // (SIGINT, a fast shutdown) and wait, so the new one can take the folder.
    private void StopLeftover(string data)
    {
        var pidFile = Path.Combine(data, "postmaster.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid)) return;
        var commandLine = File.Exists($"/proc/{pid}/cmdline") ? File.ReadAllText($"/proc/{pid}/cmdline") : "";
        if (!commandLine.Contains(data, StringComparison.Ordinal)) return;
        LogStoppingLeftover(logger, pid);
        using var leftover = Process.GetProcessById(pid);
        _ = Signal(pid, 2);
        leftover.WaitForExit(TimeSpan.FromSeconds(30));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Signal(int pid, int signal);

    /// <summary>The variable naming the folder of <c>initdb</c> and <c>postgres</c> (the tests read the same one).</summary>
    public const string BinVariable = "ASPIRECHAT_POSTGRES_BIN";

    /// <summary>
    /// The folder of <c>initdb</c> and <c>postgres</c>: <c>ASPIRECHAT_POSTGRES_BIN</c> when set, else the newest under
    /// <c>/usr/lib/postgresql</c> (Debian, Ubuntu), else one on PATH (Homebrew, Fedora).
    /// </summary>
    public static string BinDirectory()
    {
        IEnumerable<string> candidates;
        if (Environment.GetEnvironmentVariable(BinVariable) is { Length: > 0 } given) candidates = [given];
        else
        {
            var versions = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).OrderByDescending(d => d.Length).ThenByDescending(d => d, StringComparer.Ordinal)
                : Enumerable.Empty<string>();
            candidates = versions.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")))
            ?? throw new InvalidOperationException(
                "The PostgreSQL stand-in needs a PostgreSQL installation and none was found (initdb and postgres in ASPIRECHAT_POSTGRES_BIN, under /usr/lib/postgresql/*/bin or on PATH). " +
                "Install it: Debian/Ubuntu `apt-get install -y postgresql`, Fedora `dnf install postgresql-server`, macOS `brew install postgresql`. " +
                "Or give the AppHost ConnectionStrings:postgres to use a server of your own.");
    }

    private static ProcessStartInfo Command(bool asPostgres, string file, params string[] args)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file) { UseShellExecute = false };
        if (asPostgres) foreach (var arg in new[] { "-u", "postgres", "--", file }) start.ArgumentList.Add(arg);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    private static async Task RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', start.ArgumentList.Prepend(start.FileName))} exited with {process.ExitCode}:\n{await output.ConfigureAwait(false)}{await error.ConfigureAwait(false)}");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null) return;
        _ready = false;
        // End of the pipe: the shell stops the server with a fast shutdown and exits when it has.
        _server.StandardInput.Close();
        try { await _server.WaitForExitAsync(cancellationToken).ConfigureAwait(false); } catch (OperationCanceledException) { }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_ready ? HealthCheckResult.Healthy($"PostgreSQL on port {options.Value.PostgresPort}") : HealthCheckResult.Unhealthy("PostgreSQL has not started"));

    public void Dispose() => _server?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Created a PostgreSQL cluster in {Data}")]
    private static partial void LogCreated(ILogger logger, string data);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL listens on 127.0.0.1:{Port}, data in {Data}")]
    private static partial void LogStarted(ILogger logger, int port, string data);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping PostgreSQL process {Pid} left running on the stand-in's data folder")]
    private static partial void LogStoppingLeftover(ILogger logger, int pid);
}
