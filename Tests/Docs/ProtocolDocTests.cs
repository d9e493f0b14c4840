using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using AspireChat.Gateway.Connections;
using AspireChat.Protocol;

namespace AspireChat.Tests.Docs;

/// <summary>
/// docs/protocol.md cannot fall behind the code: every frame type, error code and close code the server speaks is in
/// it. And the repository is self-contained: no file points outside it (the design notes it was built from are not
/// part of a clone).
/// </summary>
public sealed partial class ProtocolDocTests
{
    private static readonly string Protocol = Repository.Read("docs/protocol.md");

    public static TheoryData<string> FrameTypeNames => [.. Constants<string>(typeof(FrameTypes))];
    public static TheoryData<string> ErrorCodeNames => [.. Constants<string>(typeof(ErrorCodes))];
    public static TheoryData<int> CloseCodeValues => [.. Constants<int>(typeof(CloseCodes)).Distinct()];

    [Theory]
    [MemberData(nameof(FrameTypeNames))]
    public void Every_frame_type_has_its_own_section_in_the_protocol_doc(string type) =>
        Assert.Contains($"\n### `{type}`", Protocol);

    [Theory]
    [MemberData(nameof(ErrorCodeNames))]
    public void Every_error_code_is_in_the_protocol_docs_error_table(string code) =>
        Assert.Contains($"| `{code}` |", Protocol);

    [Theory]
    [MemberData(nameof(CloseCodeValues))]
    public void Every_close_code_is_in_the_protocol_docs_close_code_table(int code) =>
        Assert.Matches($@"\n\| `{code}`[^|]*\|", Protocol);

    [Fact]
    public void The_constants_are_found_by_reflection()
    {
        // A guard on the guard: if the constants moved, the theories above would silently test nothing.
        Assert.Contains("gsync", Constants<string>(typeof(FrameTypes)));
        Assert.Contains("rate_limited", Constants<string>(typeof(ErrorCodes)));
        Assert.Contains(4429, Constants<int>(typeof(CloseCodes)));
        Assert.Contains(1000, Constants<int>(typeof(CloseCodes)));
    }

    [Fact]
    public void No_tracked_file_refers_to_the_shared_design_folder_outside_the_repository()
    {
        // Built from parts, so this file does not match itself.
        string[] forbidden = ["../" + "shared", "shared/" + "DESIGN.md", "/work/" + "shared"];
        var offenders = TrackedTextFiles()
            .SelectMany(file => forbidden.Where(File.ReadAllText(Repository.PathOf(file)).Contains).Select(f => $"{file}: {f}"))
            .ToList();
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }

    [Fact]
    public void Every_relative_markdown_link_points_to_a_file_inside_the_repository()
    {
        var broken = new List<string>();
        foreach (var file in TrackedTextFiles().Where(f => f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)))
        {
            var folder = Path.GetDirectoryName(Repository.PathOf(file))!;
            foreach (Match link in MarkdownLink().Matches(File.ReadAllText(Repository.PathOf(file))))
            {
                var target = link.Groups["target"].Value;
                if (target.StartsWith('#') || Uri.TryCreate(target, UriKind.Absolute, out _)) continue;
                var path = Path.GetFullPath(Path.Combine(folder, Uri.UnescapeDataString(target.Split('#')[0])));
                var inside = path.StartsWith(Repository.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
                if (!inside || !(File.Exists(path) || Directory.Exists(path))) broken.Add($"{file}: {target}");
            }
        }
        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void The_readme_links_the_protocol_configuration_and_deployment_docs()
    {
        var readme = Repository.Read("README.md");
        Assert.Contains("](docs/protocol.md)", readme);
        Assert.Contains("](docs/configuration.md)", readme);
        Assert.Contains("](docs/deploy.md)", readme);
    }

    private static List<T> Constants<T>(Type type) =>
        [.. type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(T)).Select(f => (T)f.GetRawConstantValue()!)];

    /// <summary>The repository's tracked files (git), text only; binary files such as images are left out.</summary>
    private static IEnumerable<string> TrackedTextFiles()
    {
        var info = new ProcessStartInfo("git", ["-C", Repository.Root, "ls-files", "-z"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var git = Process.Start(info)!;
        var files = git.StandardOutput.ReadToEnd().Split('\0', StringSplitOptions.RemoveEmptyEntries);
        git.WaitForExit();
        Assert.Equal(0, git.ExitCode);
        Assert.NotEmpty(files);
        string[] binary = [".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".db", ".dll", ".pdf"];
        return files.Where(f => !binary.Contains(Path.GetExtension(f).ToLowerInvariant()) && File.Exists(Repository.PathOf(f)));
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();
}
