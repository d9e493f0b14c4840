using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Apple Push Notification service, token-based: <c>POST {Endpoint}/3/device/{token}</c> over HTTP/2 with an
/// ES256 provider token (team id, key id, .p8 key) renewed every 50 minutes. The subscription's endpoint is the
/// device token (hex).
/// </summary>
public sealed class ApnsProvider : IPushProvider, IDisposable
{
    public const string HttpClientName = "push-apns";

    // Apple refuses provider tokens older than an hour and throttles ones renewed more often than every 20 minutes.
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(50);

    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ApnsOptions _apns;
    private readonly TimeSpan _ttl;
    private readonly ECDsa _key = ECDsa.Create();
    private readonly Lock _gate = new();
    private (string Token, DateTimeOffset Issued)? _token;

    public ApnsProvider(IHttpClientFactory http, IOptions<PushOptions> options, TimeProvider time)
    {
        (_http, _time, _apns, _ttl) = (http, time, options.Value.Apns, options.Value.TimeToLive);
        _key.ImportFromPem(CompactJwt.Pem(_apns.PrivateKey!));
    }

    /// <summary>True when the signing key and topic are configured; throws when they are half configured.</summary>
    public static bool IsConfigured(ApnsOptions apns)
    {
        string?[] parts = [apns.TeamId, apns.KeyId, apns.PrivateKey, apns.Topic];
        if (parts.All(string.IsNullOrWhiteSpace)) return false;
        if (parts.Any(string.IsNullOrWhiteSpace)) throw new InvalidOperationException("Push:Apns needs TeamId, KeyId, PrivateKey and Topic");
        return true;
    }

    public string Kind => PushKinds.Apns;

    public PushCheck Check(PushSubscription requested) =>
        requested.Endpoint is { Length: >= 64 and <= 200 } token && token.All(char.IsAsciiHexDigit)
            ? PushCheck.Accept(requested with { Endpoint = token.ToLowerInvariant(), P256dh = null, Auth = null })
            : PushCheck.Refuse("an APNs 'endpoint' must be the device token (64–200 hex digits)");

    public async ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default)
    {
        var payload = PushPayload.Of(notification, subscription);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_apns.Endpoint.TrimEnd('/')}/3/device/{subscription.Endpoint}")
        {
            // APNs speaks HTTP/2 only; over plain http (a local stand-in) the request falls back to HTTP/1.1.
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            Content = JsonBody.Create(w =>
            {
                w.WriteStartObject("aps");
                w.WriteStartObject("alert");
                w.WriteString("title", "AspireChat");
                w.WriteString("body", payload.Mention ? $"{payload.From} mentioned you" : payload.Text);
                w.WriteEndObject();
                w.WriteString("sound", "default");
                w.WriteString("thread-id", payload.Conv);
                w.WriteEndObject();
                w.WriteString("user", payload.User);
                w.WriteNumber("count", payload.Count);
                w.WriteString("from", payload.From);
                w.WriteString("conv", payload.Conv);
                w.WriteNumber("seq", payload.Seq);
                w.WriteString("id", payload.Id);
                w.WriteNumber("ts", payload.Ts);
                if (payload.Mention) w.WriteBoolean("mention", true);
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("bearer", ProviderToken());
        request.Headers.Add("apns-topic", _apns.Topic);
        request.Headers.Add("apns-push-type", "alert");
        request.Headers.Add("apns-priority", "10");
        request.Headers.Add("apns-collapse-id", "aspirechat");
        request.Headers.Add("apns-expiration", (_time.GetUtcNow() + _ttl).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await _http.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode == 403)
            {
                lock (_gate) _token = null;
            }
            return PushResult.FromStatus((int)response.StatusCode, response.ReasonPhrase);
        }
        catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new PushResult(PushOutcome.Failed, 0, e.Message);
        }
    }

    private string ProviderToken()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_token is { } cached && now - cached.Issued < TokenLifetime) return cached.Token;
            var token = CompactJwt.SignEs256(_key, w => w.WriteString("kid", _apns.KeyId), w =>
            {
                w.WriteString("iss", _apns.TeamId);
                w.WriteNumber("iat", now.ToUnixTimeSeconds());
            });
            _token = (token, now);
            return token;
        }
    }

    public void Dispose() => _key.Dispose();
}
