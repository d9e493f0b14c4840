namespace AspireChat.Tests.Support;

/// <summary>
/// How <see cref="Prerequisites"/> finds the programs the tests start, and the one line it fails with when one is
/// missing — against folders these tests make, never the machine's own (so they pass with or without the packages).
/// </summary>
public sealed class PrerequisitesTests
{
    private readonly string _root = TempDirectory.Create();

    [Fact]
    public void Redis_server_absent_from_the_search_path_fails_with_one_line_naming_the_package()
    {
        var search = Search(path: [Folder("empty")]);

        var missing = Assert.Throws<MissingPrerequisiteException>(() => Prerequisites.FindRedisServer(search));

        Assert.StartsWith("redis-server is not installed: sudo apt-get install -y redis-server", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);
    }

    [Fact]
    public void Redis_server_on_the_search_path_is_found_there()
    {
        var bin = Folder("bin");
        var program = Program(bin, "redis-server", "");

        Assert.Equal(program, Prerequisites.FindRedisServer(Search(path: [Folder("empty"), bin])));
    }

    [Fact]
    public void Chromium_named_by_its_variable_but_absent_fails_naming_the_variable_and_the_package()
    {
        var search = Search(path: [], variables: new() { [Prerequisites.ChromiumVariable] = "/nowhere/chromium" });

        var missing = Assert.Throws<MissingPrerequisiteException>(() => Prerequisites.FindChromium(search));

        Assert.StartsWith("ASPIRECHAT_CHROMIUM is /nowhere/chromium, where there is no Chromium: sudo apt-get install -y chromium", missing.Message);
    }

    [Fact]
    public void Chromium_is_found_under_the_name_Ubuntu_gives_it()
    {
        var bin = Folder("bin");
        var program = Program(bin, "chromium-browser", "");

        Assert.Equal(program, Prerequisites.FindChromium(Search(path: [bin])));
    }

    [Fact]
    public void The_newest_PostgreSQL_of_the_distribution_folder_is_chosen()
    {
        var root = Folder("postgresql");
        foreach (var version in new[] { 13, 16, 15 }) PostgresServer(Path.Combine(root, version.ToString(), "bin"), version);

        Assert.Equal(Path.Combine(root, "16", "bin"), Prerequisites.FindPostgresBinDirectory(Search(path: [], postgresRoots: [root])));
    }

    [Fact]
    public void PostgreSQL_older_than_15_is_refused_with_the_version_it_found()
    {
        var root = Folder("postgresql");
        PostgresServer(Path.Combine(root, "13", "bin"), 13);

        var missing = Assert.Throws<MissingPrerequisiteException>(
            () => Prerequisites.FindPostgresBinDirectory(Search(path: [], postgresRoots: [root])));

        Assert.StartsWith(
            $"PostgreSQL 15 or later (initdb, postgres) is not installed (only PostgreSQL 13 in {Path.Combine(root, "13", "bin")}): " +
            "sudo apt-get install -y postgresql", missing.Message);
    }

    [Fact]
    public void The_folder_pg_config_names_comes_before_the_distribution_folder()
    {
        var root = Folder("postgresql");
        PostgresServer(Path.Combine(root, "16", "bin"), 16);
        var chosen = Folder("chosen");
        PostgresServer(chosen, 15);
        var bin = Folder("bin");
        Program(bin, "pg_config", $"echo '{chosen}'");

        Assert.Equal(chosen, Prerequisites.FindPostgresBinDirectory(Search(path: [bin], postgresRoots: [root])));
    }

    [Fact]
    public void PostgreSQL_found_nowhere_fails_with_one_line_naming_the_package()
    {
        var missing = Assert.Throws<MissingPrerequisiteException>(
            () => Prerequisites.FindPostgresBinDirectory(Search(path: [Folder("empty")], postgresRoots: [Folder("no-postgresql")])));

        Assert.StartsWith("PostgreSQL 15 or later (initdb, postgres) is not installed: sudo apt-get install -y postgresql", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);
    }

    private static ProgramSearch Search(string[] path, string[]? postgresRoots = null, Dictionary<string, string>? variables = null) =>
        new(path, postgresRoots ?? [], [], name => variables?.GetValueOrDefault(name));

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    /// <summary>A fake server folder: <c>initdb</c>, and a <c>postgres</c> that answers <c>--version</c> as PostgreSQL does.</summary>
    private static void PostgresServer(string bin, int version)
    {
        Directory.CreateDirectory(bin);
        Program(bin, "initdb", "exit 1");
        Program(bin, "postgres", $"echo 'postgres (PostgreSQL) {version}.2 (Debian {version}.2-1)'");
    }

    private static string Program(string folder, string name, string script)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, $"#!/bin/sh\n{script}\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
