namespace AspireChat.Messaging.Storage;

/// <summary>
/// Folders and files only this process's user may read (DESIGN §3c): the data folder (0700), the keys (0600). A file is
/// created with its mode — never written first and narrowed after, which leaves a moment in which anyone can read it.
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) as 0700; an existing folder is left as it is.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, FolderMode);
    }

    /// <summary>Creates <paramref name="path"/> as a new 0600 file holding <paramref name="content"/>; fails if it exists.</summary>
    public static void WriteNew(string path, ReadOnlySpan<byte> content)
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = KeyFileMode;
        using var stream = new FileStream(path, options);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Throws, naming <paramref name="setting"/>, when the key file at <paramref name="path"/> is open to group or others.</summary>
    public static void EnsurePrivate(string path, string setting)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOthers) != 0)
        {
            throw new InvalidOperationException(
                $"{setting}: the key file {path} may be read by other users (mode {Convert.ToString((int)mode, 8)}); "
                + "it must be 0600 (chmod 600), or removed so that a new key is generated.");
        }
    }
}
