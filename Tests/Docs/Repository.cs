namespace AspireChat.Tests.Docs;

/// <summary>The repository checkout the tests were built from: its root (where AspireChat.sln is) and its files.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AspireChat.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no AspireChat.sln above {AppContext.BaseDirectory}");
    }
}
