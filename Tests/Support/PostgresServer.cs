using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;

namespace AspireChat.Tests.Support;

/// <summary>
/// One PostgreSQL server for the whole test run, from the machine's installation (Debian's <c>postgresql</c>, which
/// .ci/run installs): a cluster in a temporary folder on a free loopback port, started at first use and stopped when the
/// test process exits. The server refuses to run as root, so as root it runs as the <c>postgres</c> user. Each test class
/// takes a database of its own (<see cref="CreateDatabaseAsync"/>). The server stops when the test process ends, however it
/// ends; a folder left behind by a killed run is removed by the next.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "aspirechat-postgres");
    private readonly SemaphoreSlim _creating = new(1, 1);
    private readonly string _directory;
    private readonly int _port;
    // Held for the whole run: its standard input is the pipe whose end stops the server.
    private readonly Process _process;

    private PostgresServer(string directory, int port, Process process) => (_directory, _port, _process) = (directory, port, process);

    /// <summary>The run's server, started on first use.</summary>
    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix.ToLowerInvariant()}_{Guid.NewGuid():n}"[..Math.Min(63, prefix.Length + 33)];
        // One CREATE DATABASE at a time: concurrent ones copying template1 may fail on each other.
        await _creating.WaitAsync();
        try
        {
            await using var admin = new NpgsqlConnection(ConnectionString("postgres"));
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        finally
        {
            _creating.Release();
        }
        return ConnectionString(name);
    }

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = _port, Username = "chat", Database = database, MaxPoolSize = 20 }.ConnectionString;

    private static async Task<PostgresServer> StartAsync()
    {
        StopLeftovers();
        var bin = Prerequisites.PostgresBinDirectory();
        var directory = Path.Combine(Root, $"run-{Environment.ProcessId}");
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(data);
        var asRoot = Environment.UserName == "root";
        if (asRoot) await RunAsync("chown", "-R", "postgres:postgres", directory);
        await RunAsync(asRoot, Path.Combine(bin, "initdb"), "-D", data, "-U", "chat", "--auth=trust", "-E", "UTF8", "--no-sync");

        var port = FreePort();
        // Data of a test run need not survive a power cut: no fsync, as initdb --no-sync above.
        // Behind a shell that holds our end of a pipe: when this process ends in any way (kill -9 included), the pipe
        // closes, `read` returns and the shell stops the server (SIGQUIT: immediate shutdown).
        var server = Command(asRoot, "/bin/sh", "-c", "\"$@\" & pid=$!; read _; kill -QUIT $pid; wait $pid", "sh",
            Path.Combine(bin, "postgres"), "-D", data, "-p", $"{port}", "-k", data,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300");
        server.RedirectStandardOutput = server.RedirectStandardError = server.RedirectStandardInput = true;
        var process = Process.Start(server) ?? throw new InvalidOperationException("postgres did not start");
        var log = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var started = new PostgresServer(directory, port, process);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => started.Stop();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(started.ConnectionString("postgres"));
                await connection.OpenAsync();
                return started;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException)
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    lock (log) throw new InvalidOperationException($"PostgreSQL on port {port} did not come up:\n{log}", e);
                }
                await Task.Delay(50);
            }
        }
    }

    // Immediate shutdown (SIGQUIT) of the postmaster named in the cluster's postmaster.pid, then the folder goes.
    private void Stop()
    {
        _process.StandardInput.Close();
        StopPostmaster(Path.Combine(_directory, "data"));
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void StopLeftovers()
    {
        if (!Directory.Exists(Root)) return;
        foreach (var run in Directory.GetDirectories(Root, "run-*"))
        {
            if (int.TryParse(Path.GetFileName(run)["run-".Length..], out var pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}")) continue;
            StopPostmaster(Path.Combine(run, "data"));
            try { Directory.Delete(run, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void StopPostmaster(string data)
    {
        var pidFile = Path.Combine(data, "postmaster.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid)) return;
        // Only the postmaster of this very folder: a recycled pid is someone else's process.
        var commandLine = File.Exists($"/proc/{pid}/cmdline") ? File.ReadAllText($"/proc/{pid}/cmdline") : "";
        if (commandLine.Contains(data, StringComparison.Ordinal)) _ = Kill(pid, 3);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static ProcessStartInfo Command(bool asPostgres, string file, params string[] args)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file) { UseShellExecute = false };
        if (asPostgres) foreach (var arg in new[] { "-u", "postgres", "--", file }) start.ArgumentList.Add(arg);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    private static Task RunAsync(string file, params string[] args) => RunAsync(false, file, args);

    private static async Task RunAsync(bool asPostgres, string file, params string[] args)
    {
        var start = Command(asPostgres, file, args);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {process.ExitCode}:\n{await output}{await error}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
