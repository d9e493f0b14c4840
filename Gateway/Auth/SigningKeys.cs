using System.Security.Cryptography;
using System.Text;
using AspireChat.Messaging.Storage;
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
        if (File.Exists(path))
        {
            // Whoever can read the key can mint a token for any user.
            PrivateFiles.EnsurePrivate(path, "Auth:KeyFile");
            return new SymmetricSecurityKey(Convert.FromBase64String(File.ReadAllText(path).Trim()));
        }
        PrivateFiles.CreateFolder(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(32);
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        PrivateFiles.WriteNew(temp, Encoding.ASCII.GetBytes(Convert.ToBase64String(key)));
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process on the same folder generated it first: use theirs.
            File.Delete(temp);
            return Resolve(options);
        }
        return new SymmetricSecurityKey(key);
    }
}
