using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Options;
using WebPushSubscription = Lib.Net.Http.WebPush.PushSubscription;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Web Push (RFC 8030) to browsers: the payload encrypted with aes128gcm for the subscription's keys (RFC 8291)
/// and the request signed with the VAPID key pair (RFC 8292), by <c>Lib.Net.Http.WebPush</c>.
/// </summary>
public sealed class WebPushProvider(IHttpClientFactory http, VapidKeys keys, IOptions<PushOptions> options) : IPushProvider
{
    public const string HttpClientName = "push-webpush";

    // The collapse key on the push service: a newer notification replaces one the browser has not fetched yet.
    private const string Topic = "aspirechat";

    private readonly TokenCache _tokens = new();

    public string Kind => PushKinds.WebPush;

    public PushCheck Check(PushSubscription requested)
    {
        if (!Uri.TryCreate(requested.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps || requested.Endpoint.Length > 2048)
            return PushCheck.Refuse("a Web Push 'endpoint' must be an absolute https URL (at most 2048 characters)");
        // Only the browsers' push services: an endpoint is a URL the server will POST to, and anyone may register one.
        if (!options.Value.WebPush.Allows(endpoint.IdnHost) || !string.IsNullOrEmpty(endpoint.UserInfo))
            return PushCheck.Refuse($"a Web Push 'endpoint' must be on a known push service (Push:WebPush:AllowedHosts), not '{endpoint.IdnHost}'");
        if (!TryDecode(requested.P256dh, out var p256dh) || p256dh.Length != 65 || p256dh[0] != 0x04 || !IsCurvePoint(p256dh))
            return PushCheck.Refuse("'keys.p256dh' must be the subscription's P-256 public key (65-byte uncompressed point, base64url)");
        if (!TryDecode(requested.Auth, out var auth) || auth.Length != 16)
            return PushCheck.Refuse("'keys.auth' must be the subscription's 16-byte authentication secret (base64url)");
        return PushCheck.Accept(requested with { P256dh = Base64Url.EncodeToString(p256dh), Auth = Base64Url.EncodeToString(auth) });
    }

    public async ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default)
    {
        var ttl = (int)Math.Min(options.Value.TimeToLive.TotalSeconds, int.MaxValue);
        using var vapid = new VapidAuthentication(keys.PublicKey, keys.PrivateKey) { Subject = keys.Subject, TokenCache = _tokens };
        var client = new PushServiceClient(http.CreateClient(HttpClientName))
        {
            DefaultAuthentication = vapid,
            DefaultAuthenticationScheme = VapidAuthenticationScheme.Vapid,
            // 429s are retried by the client's resilience pipeline, which honours Retry-After.
            AutoRetryAfter = false,
            DefaultTimeToLive = ttl,
        };
        var target = new WebPushSubscription { Endpoint = subscription.Endpoint };
        target.SetKey(PushEncryptionKeyName.P256DH, subscription.P256dh);
        target.SetKey(PushEncryptionKeyName.Auth, subscription.Auth);
        var message = new PushMessage(JsonSerializer.Serialize(PushPayload.Of(notification, subscription), PushJson.Default.PushPayload))
        {
            Topic = Topic,
            Urgency = PushMessageUrgency.Normal,
            TimeToLive = ttl,
        };
        try
        {
            await client.RequestPushMessageDeliveryAsync(target, message, cancellationToken).ConfigureAwait(false);
            return new PushResult(PushOutcome.Delivered, 201);
        }
        catch (PushServiceClientException e)
        {
            return PushResult.FromStatus((int)e.StatusCode, e.Message);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new PushResult(PushOutcome.Failed, 0, e.Message);
        }
    }

    private static bool TryDecode(string? value, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(value) || value.Length > 256) return false;
        try
        {
            // Browsers give base64url without padding; tolerate padding and the standard alphabet too.
            bytes = Base64Url.DecodeFromChars(value.TrimEnd('=').Replace('+', '-').Replace('/', '_'));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsCurvePoint(byte[] point)
    {
        try
        {
            using var key = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>VAPID tokens per audience (push service origin), reused until shortly before they expire.</summary>
    private sealed class TokenCache : IVapidTokenCache
    {
        private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

        public void Put(string audience, DateTimeOffset expiration, string token) => _tokens[audience] = (token, expiration);

        public string? Get(string audience) =>
            _tokens.TryGetValue(audience, out var entry) && entry.Expires - DateTimeOffset.UtcNow > TimeSpan.FromMinutes(5) ? entry.Token : null;
    }
}
