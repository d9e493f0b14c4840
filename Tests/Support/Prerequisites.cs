using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AspireChat.Tests.Support;

/// <summary>
/// The programs outside .NET that the tests start — redis-server, the PostgreSQL server, Chromium — and the one place
/// that knows how to find each and what to install when it is missing. A missing program fails every test that needs
/// it at once with a <see cref="MissingPrerequisiteException"/> naming the package (test.sh installs them all on
/// Debian/Ubuntu), rather than with a timeout or a bare "file not found". Each lookup runs once per test run.
/// </summary>
public static partial class Prerequisites
{
    public const string RedisServerVariable = "ASPIRECHAT_REDIS_SERVER";
    public const string ChromiumVariable = "ASPIRECHAT_CHROMIUM";
    public const string PostgresBinVariable = "ASPIRECHAT_POSTGRES_BIN";

    /// <summary>The oldest PostgreSQL major version the tests run on (Debian 12's).</summary>
    public const int PostgresMinimumVersion = 15;

    // A failed lookup is cached too: every later test that needs the program fails with the same line, at once.
    private static readonly Lazy<string> RedisServerPath = new(() => FindRedisServer(ProgramSearch.FromEnvironment()));
    private static readonly Lazy<string> ChromiumPath = new(() => FindChromium(ProgramSearch.FromEnvironment()));
    private static readonly Lazy<string> PostgresBinPath = new(() => FindPostgresBinDirectory(ProgramSearch.FromEnvironment()));

    /// <summary>The path of <c>redis-server</c> (Debian package <c>redis-server</c>).</summary>
    public static string RedisServer() => RedisServerPath.Value;

    /// <summary>The path of the Chromium browser the browser tests drive through Playwright (Debian package <c>chromium</c>).</summary>
    public static string Chromium() => ChromiumPath.Value;

    /// <summary>
    /// The folder holding <c>initdb</c> and <c>postgres</c> of PostgreSQL 15 or later (Debian package <c>postgresql</c>):
    /// <c>pg_config --bindir</c>, else the highest <c>/usr/lib/postgresql/N/bin</c>, else a PATH folder with both.
    /// </summary>
    public static string PostgresBinDirectory() => PostgresBinPath.Value;

    internal static string FindRedisServer(ProgramSearch search) =>
        FindProgram(search, RedisServerVariable, ["redis-server"], [])
        ?? throw Missing(search, RedisServerVariable, "redis-server", "",
            Install("redis-server", macOS: "brew install redis"), "the program");

    internal static string FindChromium(ProgramSearch search) =>
        FindProgram(search, ChromiumVariable, ["chromium", "chromium-browser"], search.ChromiumApps)
        ?? throw Missing(search, ChromiumVariable, "Chromium", "",
            Install("chromium (Ubuntu: chromium-browser)", macOS: "brew install --cask chromium"),
            "the browser");

    internal static string FindPostgresBinDirectory(ProgramSearch search)
    {
        var overridden = search.Override(PostgresBinVariable);
        string? tooOld = null;
        foreach (var directory in overridden is null ? PostgresCandidates(search) : [overridden])
        {
            if (!File.Exists(Path.Combine(directory, ProgramSearch.Executable("initdb")))
                || !File.Exists(Path.Combine(directory, ProgramSearch.Executable("postgres"))))
                continue;
            var version = PostgresMajorVersion(directory);
            if (version >= PostgresMinimumVersion) return directory;
            tooOld ??= $" (only PostgreSQL {(version > 0 ? version.ToString() : "of an unknown version")} in {directory})";
        }
        throw Missing(search, PostgresBinVariable, $"PostgreSQL {PostgresMinimumVersion} or later (initdb, postgres)", tooOld ?? "",
            Install("postgresql", macOS: "brew install postgresql@16 (its bin folder is $(brew --prefix postgresql@16)/bin)"),
            "its bin folder");
    }

    private static string? FindProgram(ProgramSearch search, string variable, string[] names, IReadOnlyList<string> fixedPaths)
    {
        if (search.Override(variable) is { } overridden) return File.Exists(overridden) ? overridden : null;
        return names.Select(search.Find).FirstOrDefault(path => path is not null) ?? fixedPaths.FirstOrDefault(File.Exists);
    }

    /// <summary>Folders that may hold the server, best first; each is checked for both programs and its version.</summary>
    private static IEnumerable<string> PostgresCandidates(ProgramSearch search)
    {
        if (search.Find("pg_config") is { } pgConfig && Run(pgConfig, "--bindir") is { Length: > 0 } bindir) yield return bindir.Trim();
        foreach (var root in search.PostgresRoots.Where(Directory.Exists))
        {
            var versions = Directory.EnumerateDirectories(root)
                .Select(directory => (directory, version: int.TryParse(Path.GetFileName(directory), out var v) ? v : 0))
                .OrderByDescending(d => d.version);
            foreach (var (directory, _) in versions) yield return Path.Combine(directory, "bin");
        }
        // On PATH the programs may be links (e.g. /usr/local/bin/initdb): the server's own folder is where they lead.
        if (search.Find("initdb") is { } initdb)
            yield return Path.GetDirectoryName(File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb)!;
    }

    private static int PostgresMajorVersion(string directory)
    {
        var output = Run(Path.Combine(directory, ProgramSearch.Executable("postgres")), "--version") ?? "";
        return PostgresVersion().Match(output) is { Success: true } match ? int.Parse(match.Groups[1].Value) : 0;
    }

    /// <summary>Runs a program for its one line of output; null when it cannot run or does not answer within seconds.</summary>
    private static string? Run(string program, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, [argument])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null) return null;
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill();
                return null;
            }
            return process.ExitCode == 0 ? output.Result : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string Install(string debianPackage, string macOS) =>
        OperatingSystem.IsLinux() ? $"sudo apt-get install -y {debianPackage}, or run ./test.sh, which installs what the tests need"
        : OperatingSystem.IsMacOS() ? macOS
        : "run the tests in WSL (Ubuntu), where ./test.sh installs it";

    private static MissingPrerequisiteException Missing(ProgramSearch search, string variable, string program, string found, string install, string what) =>
        new(search.Override(variable) is { } overridden
            ? $"{variable} is {overridden}, where there is no {program}{found}: {install}; or set {variable} to {what}."
            : $"{program} is not installed{found}: {install}; or set {variable} to {what}.");

    [GeneratedRegex(@"\(PostgreSQL\) (\d+)")]
    private static partial Regex PostgresVersion();
}
