namespace AspireChat.Tests.Support;

/// <summary>
/// Where <see cref="Prerequisites"/> looks for a program: the override variables, the search path (PATH, or
/// <c>ASPIRECHAT_PREREQ_PATH</c> instead) and the folders a distribution installs into off PATH (PostgreSQL's
/// <c>/usr/lib/postgresql/N/bin</c>, the macOS Chromium app). A value rather than the process's environment, so the
/// lookup can be tested against folders a test makes.
/// </summary>
internal sealed record ProgramSearch(
    IReadOnlyList<string> Path,
    IReadOnlyList<string> PostgresRoots,
    IReadOnlyList<string> ChromiumApps,
    Func<string, string?> Variable)
{
    /// <summary>
    /// Directories searched instead of PATH, and then nothing else is searched: how test.sh and anyone checking the
    /// messages simulate a machine without a program.
    /// </summary>
    public const string SearchPathVariable = "ASPIRECHAT_PREREQ_PATH";

    public static ProgramSearch FromEnvironment()
    {
        var restricted = Environment.GetEnvironmentVariable(SearchPathVariable);
        var path = restricted ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        return new ProgramSearch(
            path.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries),
            restricted is null ? ["/usr/lib/postgresql"] : [],
            restricted is null && OperatingSystem.IsMacOS() ? ["/Applications/Chromium.app/Contents/MacOS/Chromium"] : [],
            Environment.GetEnvironmentVariable);
    }

    /// <summary>The value of an override variable, or null when it is unset or empty.</summary>
    public string? Override(string variable) => Variable(variable) is { Length: > 0 } value ? value : null;

    /// <summary>The first file called <paramref name="name"/> (<c>.exe</c> on Windows) in a directory of the search path.</summary>
    public string? Find(string name) =>
        Path.Select(directory => System.IO.Path.Combine(directory, Executable(name))).FirstOrDefault(File.Exists);

    public static string Executable(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;
}
