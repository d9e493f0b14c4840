using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AspireChat.Messaging.Push;

/// <summary>Signs the small JWTs provider auth needs: ES256 (APNs provider tokens) and RS256 (Google service accounts).</summary>
internal static class CompactJwt
{
    public static string SignEs256(ECDsa key, Action<Utf8JsonWriter> header, Action<Utf8JsonWriter> claims)
    {
        var input = SigningInput("ES256", header, claims);
        // .NET signs in IEEE P1363 form (r ‖ s), which is what JWS ES256 wants.
        return $"{input}.{Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256))}";
    }

    public static string SignRs256(RSA key, Action<Utf8JsonWriter> header, Action<Utf8JsonWriter> claims)
    {
        var input = SigningInput("RS256", header, claims);
        return $"{input}.{Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))}";
    }

    /// <summary>A PEM key from configuration, where newlines often arrive escaped as <c>\n</c>.</summary>
    public static string Pem(string configured) => configured.Replace("\\n", "\n", StringComparison.Ordinal).Trim();

    private static string SigningInput(string alg, Action<Utf8JsonWriter> header, Action<Utf8JsonWriter> claims) =>
        $"{Part(w => { w.WriteString("alg", alg); w.WriteString("typ", "JWT"); header(w); })}.{Part(claims)}";

    private static string Part(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return Base64Url.EncodeToString(buffer.WrittenSpan);
    }
}
