using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AspireChat.Tests.Push;

/// <summary>
/// The browser side of a Web Push subscription: a P-256 key pair and a 16-byte auth secret, and the receiving
/// half of RFC 8291 — it decrypts an <c>aes128gcm</c> (RFC 8188) body the way a user agent does.
/// </summary>
public sealed class FakeBrowser : IDisposable
{
    private readonly ECDiffieHellman _key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public FakeBrowser()
    {
        var q = _key.ExportParameters(false).Q;
        PublicKey = [0x04, .. q.X!, .. q.Y!];
        AuthSecret = RandomNumberGenerator.GetBytes(16);
    }

    /// <summary>The subscription's public key, uncompressed (65 bytes).</summary>
    public byte[] PublicKey { get; }
    public byte[] AuthSecret { get; }
    public string P256dh => Base64Url.EncodeToString(PublicKey);
    public string Auth => Base64Url.EncodeToString(AuthSecret);

    /// <summary>Decrypts an aes128gcm body addressed to this subscription; fails the test if anything does not check out.</summary>
    public byte[] Decrypt(byte[] body)
    {
        // Header (RFC 8188 §2.1): salt(16) ‖ rs(4) ‖ idlen(1) ‖ keyid — the keyid is the sender's ephemeral public key.
        var salt = body[..16];
        var recordSize = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        var idLength = body[20];
        Assert.Equal(65, idLength);
        var senderPublic = body[21..(21 + idLength)];
        var ciphertext = body[(21 + idLength)..];
        Assert.True(ciphertext.Length <= recordSize, "one record expected");

        using var sender = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = senderPublic[1..33], Y = senderPublic[33..] },
        });
        var ecdhSecret = _key.DeriveRawSecretAgreement(sender.PublicKey);

        // RFC 8291 §3.3–3.4: combine the ECDH secret with the auth secret, then derive key and nonce from the salt.
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. PublicKey, .. senderPublic];
        var prkKey = HKDF.Extract(HashAlgorithmName.SHA256, ecdhSecret, AuthSecret);
        var ikm = HKDF.Expand(HashAlgorithmName.SHA256, prkKey, 32, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, "Content-Encoding: nonce\0"u8.ToArray());

        using var aes = new AesGcm(cek, 16);
        var plaintext = new byte[ciphertext.Length - 16];
        aes.Decrypt(nonce, ciphertext[..^16], ciphertext[^16..], plaintext);

        // Padding: the last record ends with the delimiter 0x02, then zeros.
        var end = plaintext.Length - 1;
        while (end >= 0 && plaintext[end] == 0) end--;
        Assert.True(end >= 0 && plaintext[end] == 2, "the last record's padding delimiter is 0x02");
        return plaintext[..end];
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>Checks compact JWTs the way a push service does: signature against the given key, then claims.</summary>
public static class Jwt
{
    /// <summary>Verifies an ES256 token's signature with a P-256 public point; returns (header, claims).</summary>
    public static (JsonElement Header, JsonElement Claims) VerifyEs256(string token, byte[] publicPoint)
    {
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicPoint[1..33], Y = publicPoint[33..] },
        });
        return Verify(token, "ES256", (input, signature) => key.VerifyData(input, signature, HashAlgorithmName.SHA256));
    }

    public static (JsonElement Header, JsonElement Claims) VerifyEs256(string token, ECDsa key) =>
        Verify(token, "ES256", (input, signature) => key.VerifyData(input, signature, HashAlgorithmName.SHA256));

    public static (JsonElement Header, JsonElement Claims) VerifyRs256(string token, RSA key) =>
        Verify(token, "RS256", (input, signature) => key.VerifyData(input, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    private static (JsonElement, JsonElement) Verify(string token, string alg, Func<byte[], byte[], bool> verify)
    {
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.True(verify(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64Url.DecodeFromChars(parts[2])), "JWT signature does not verify");
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement.Clone();
        Assert.Equal(alg, header.GetProperty("alg").GetString());
        return (header, JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone());
    }
}
