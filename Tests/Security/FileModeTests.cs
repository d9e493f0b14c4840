using AspireChat.Tests.Support;

namespace AspireChat.Tests.Security;

/// <summary>
/// The data folder is 0700 and key files 0600 from their creation; a key file others may read is refused at start
/// (DESIGN §3c). Unix only: Windows has no such modes.
/// </summary>
public sealed class FileModeTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    public async Task Data_folder_is_0700_and_generated_keys_are_0600()
    {
        if (OperatingSystem.IsWindows()) return; // no Unix file modes there
        var data = Path.Combine(TempDirectory.Create(), "data");
        await using (var server = await GatewayServer.StartAsync(Settings(data), dataDirectory: data))
        {
            using var vapid = await server.Http.GetAsync("/api/push/vapid");
            vapid.EnsureSuccessStatusCode();
        }
        Assert.Equal(PrivateFolder, File.GetUnixFileMode(Path.Combine(data, "store")));
        Assert.Equal(PrivateFolder, File.GetUnixFileMode(Path.Combine(data, "keys")));
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(data, "keys", "signing.key")));
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(data, "vapid.json")));
    }

    [Theory]
    [InlineData("signing.key", "Auth:KeyFile")]
    [InlineData("vapid.json", "Push:Vapid:KeyFile")]
    public async Task A_key_file_others_may_read_is_refused_at_start(string file, string setting)
    {
        if (OperatingSystem.IsWindows()) return; // no Unix file modes there
        var data = Path.Combine(TempDirectory.Create(), "data");
        await using (await GatewayServer.StartAsync(Settings(data), dataDirectory: data))
        {
        }
        var path = file == "signing.key" ? Path.Combine(data, "keys", file) : Path.Combine(data, file);
        File.SetUnixFileMode(path, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GatewayServer.StartAsync(Settings(data), dataDirectory: data));
        Assert.Contains(setting, refused.ToString(), StringComparison.Ordinal);

        // Narrowed again, the same file is accepted: the refusal is about the mode alone.
        File.SetUnixFileMode(path, Private);
        await using var restarted = await GatewayServer.StartAsync(Settings(data), dataDirectory: data);
    }

    // A signing key generated into a folder of its own, so the test sees that folder created too.
    private static Dictionary<string, string?> Settings(string data) => new()
    {
        ["Auth:SigningKey"] = null,
        ["Auth:KeyFile"] = Path.Combine(data, "keys", "signing.key"),
    };
}
