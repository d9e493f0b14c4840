using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace AspireChat.Gateway.Auth;

/// <summary>The HS256 key: from configuration, or generated once and kept on disk for the embedded default.</summary>
public static class SigningKeys
{
    public static SymmetricSecurityKey Resolve(AuthOptions options)
    {
        if (!string.IsNullOrEmpty(options.SigningKey))
        {
            var bytes = Encoding.UTF8.GetBytes(options.SigningKey);
            if (bytes.Length < 32) throw new InvalidOperationException("Auth:SigningKey must be at least 32 bytes");
            return new SymmetricSecurityKey(bytes);
        }
        var path = Path.GetFullPath(options.KeyFile);
        if (File.Exists(path)) return new SymmetricSecurityKey(Convert.FromBase64String(File.ReadAllText(path).Trim()));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(32);
        var temp = path + ".tmp";
        File.WriteAllText(temp, Convert.ToBase64String(key));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: false);
        return new SymmetricSecurityKey(key);
    }
}
