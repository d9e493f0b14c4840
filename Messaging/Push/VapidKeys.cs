using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// The Web Push application server key pair (VAPID, RFC 8292): from <c>Push:Vapid:PublicKey/PrivateKey</c>
/// (an Aspire secret parameter), or generated once and kept in <c>Push:Vapid:KeyFile</c> for local runs —
/// the way the gateway's signing key is. Resolved on first use.
/// </summary>
public sealed class VapidKeys(IOptions<PushOptions> options)
{
    private readonly VapidOptions _options = options.Value.Vapid;
    private readonly Lock _gate = new();
    private (string PublicKey, string PrivateKey)? _pair;

    /// <summary>True when keys are configured or may be generated: Web Push is on.</summary>
    public bool Enabled => IsEnabled(_options);

    public static bool IsEnabled(VapidOptions options) =>
        !string.IsNullOrWhiteSpace(options.PublicKey) || !string.IsNullOrWhiteSpace(options.KeyFile);

    public string Subject => _options.Subject;

    /// <summary>The public key (uncompressed P-256 point, base64url) browsers subscribe with.</summary>
    public string PublicKey => Pair.PublicKey;

    /// <summary>The private key (32-byte scalar, base64url).</summary>
    public string PrivateKey => Pair.PrivateKey;

    private (string PublicKey, string PrivateKey) Pair
    {
        get
        {
            lock (_gate) return _pair ??= Resolve();
        }
    }

    private (string, string) Resolve()
    {
        if (!string.IsNullOrWhiteSpace(_options.PublicKey) || !string.IsNullOrWhiteSpace(_options.PrivateKey))
        {
            if (string.IsNullOrWhiteSpace(_options.PublicKey) || string.IsNullOrWhiteSpace(_options.PrivateKey))
                throw new InvalidOperationException("Push:Vapid:PublicKey and Push:Vapid:PrivateKey go together");
            return Check(_options.PublicKey.Trim(), _options.PrivateKey.Trim(), "Push:Vapid");
        }
        if (string.IsNullOrWhiteSpace(_options.KeyFile)) throw new InvalidOperationException("Web Push is off: no VAPID keys and no Push:Vapid:KeyFile");

        var path = Path.GetFullPath(_options.KeyFile);
        if (File.Exists(path)) return Read(path);
        PrivateFiles.CreateFolder(Path.GetDirectoryName(path)!);
        var (publicKey, privateKey) = Generate();
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        var json = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("publicKey", publicKey);
            writer.WriteString("privateKey", privateKey);
            writer.WriteEndObject();
        }
        PrivateFiles.WriteNew(temp, json.WrittenSpan);
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (the PushService beside the gateway) generated it first: use theirs.
            File.Delete(temp);
            return Read(path);
        }
        return (publicKey, privateKey);
    }

    private static (string, string) Read(string path)
    {
        PrivateFiles.EnsurePrivate(path, "Push:Vapid:KeyFile");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        return Check(root.GetProperty("publicKey").GetString()!, root.GetProperty("privateKey").GetString()!, path);
    }

    /// <summary>A fresh P-256 key pair as (public, private) base64url.</summary>
    public static (string PublicKey, string PrivateKey) Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: true);
        return (Base64Url.EncodeToString([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]), Base64Url.EncodeToString(parameters.D!));
    }

    private static (string, string) Check(string publicKey, string privateKey, string source)
    {
        try
        {
            var q = Base64Url.DecodeFromChars(publicKey);
            var d = Base64Url.DecodeFromChars(privateKey);
            if (q.Length != 65 || q[0] != 0x04 || d.Length != 32) throw new FormatException("wrong length");
            using var key = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = q[1..33], Y = q[33..] },
                D = d,
            });
            return (publicKey, privateKey);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new InvalidOperationException($"{source}: VAPID keys must be a P-256 pair, base64url (65-byte public point, 32-byte private key)", e);
        }
    }
}
