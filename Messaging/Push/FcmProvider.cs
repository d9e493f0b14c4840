using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Firebase Cloud Messaging, HTTP v1 API: <c>POST {Endpoint}/v1/projects/{ProjectId}/messages:send</c> with an
/// OAuth2 access token that a service account obtains from <c>TokenUri</c> with an RS256-signed assertion.
/// The subscription's endpoint is the app instance's registration token.
/// </summary>
public sealed class FcmProvider : IPushProvider, IDisposable
{
    public const string HttpClientName = "push-fcm";
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly FcmOptions _fcm;
    private readonly TimeSpan _ttl;
    private readonly RSA _key = RSA.Create();
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private (string Token, DateTimeOffset Expires)? _token;

    public FcmProvider(IHttpClientFactory http, IOptions<PushOptions> options, TimeProvider time)
    {
        (_http, _time, _fcm, _ttl) = (http, time, options.Value.Fcm, options.Value.TimeToLive);
        _key.ImportFromPem(CompactJwt.Pem(_fcm.PrivateKey!));
    }

    /// <summary>True when the service account is configured; throws when it is half configured.</summary>
    public static bool IsConfigured(FcmOptions fcm)
    {
        string?[] parts = [fcm.ProjectId, fcm.ClientEmail, fcm.PrivateKey];
        if (parts.All(string.IsNullOrWhiteSpace)) return false;
        if (parts.Any(string.IsNullOrWhiteSpace)) throw new InvalidOperationException("Push:Fcm needs ProjectId, ClientEmail and PrivateKey");
        return true;
    }

    public string Kind => PushKinds.Fcm;

    public PushCheck Check(PushSubscription requested) =>
        IsToken(requested.Endpoint)
            ? PushCheck.Accept(requested with { P256dh = null, Auth = null })
            : PushCheck.Refuse("an FCM 'endpoint' must be the app's registration token (1–4096 characters, no spaces)");

    public async ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default)
    {
        try
        {
            var accessToken = await AccessTokenAsync(cancellationToken).ConfigureAwait(false);
            var url = $"{_fcm.Endpoint.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(_fcm.ProjectId!)}/messages:send";
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = Body(subscription, PushPayload.Of(notification, subscription)) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            using var response = await _http.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized) _token = null;
            return PushResult.FromStatus((int)response.StatusCode, response.ReasonPhrase);
        }
        catch (TokenException e)
        {
            return new PushResult(PushOutcome.Failed, e.Status, e.Message);
        }
        catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new PushResult(PushOutcome.Failed, 0, e.Message);
        }
    }

    private HttpContent Body(PushSubscription subscription, PushPayload payload) => JsonBody.Create(w =>
    {
        w.WriteStartObject("message");
        w.WriteString("token", subscription.Endpoint);
        w.WriteStartObject("notification");
        w.WriteString("title", "AspireChat");
        w.WriteString("body", payload.Text);
        w.WriteEndObject();
        w.WriteStartObject("data");
        w.WriteString("user", payload.User);
        w.WriteString("count", payload.Count.ToString(CultureInfo.InvariantCulture));
        w.WriteString("from", payload.From);
        w.WriteString("conv", payload.Conv);
        w.WriteString("seq", payload.Seq.ToString(CultureInfo.InvariantCulture));
        w.WriteString("id", payload.Id);
        w.WriteString("ts", payload.Ts.ToString(CultureInfo.InvariantCulture));
        if (payload.Mention) w.WriteString("mention", "true");
        w.WriteEndObject();
        w.WriteStartObject("android");
        w.WriteString("collapse_key", "aspirechat");
        w.WriteString("ttl", $"{(long)_ttl.TotalSeconds}s");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    // One token for every send until shortly before it expires; one refresh at a time.
    private async ValueTask<string> AccessTokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } cached && cached.Expires > _time.GetUtcNow()) return cached.Token;
        await _tokenLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } again && again.Expires > _time.GetUtcNow()) return again.Token;
            var now = _time.GetUtcNow();
            var assertion = CompactJwt.SignRs256(_key, _ => { }, w =>
            {
                w.WriteString("iss", _fcm.ClientEmail);
                w.WriteString("scope", Scope);
                w.WriteString("aud", _fcm.TokenUri);
                w.WriteNumber("iat", now.ToUnixTimeSeconds());
                w.WriteNumber("exp", now.ToUnixTimeSeconds() + 3600);
            });
            using var form = new FormUrlEncodedContent(
            [
                new("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                new("assertion", assertion),
            ]);
            using var response = await _http.CreateClient(HttpClientName).PostAsync(_fcm.TokenUri, form, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw new TokenException((int)response.StatusCode, $"the token endpoint answered {(int)response.StatusCode}");
            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            var root = document.RootElement;
            if (!root.TryGetProperty("access_token", out var token) || token.GetString() is not { Length: > 0 } value)
                throw new TokenException((int)response.StatusCode, "the token endpoint gave no access_token");
            var lifetime = root.TryGetProperty("expires_in", out var expiresIn) && expiresIn.TryGetInt32(out var seconds) ? seconds : 3600;
            _token = (value, now + TimeSpan.FromSeconds(Math.Max(lifetime - 60, 1)));
            return value;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private static bool IsToken(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 4096) return false;
        foreach (var c in token)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        }
        return true;
    }

    public void Dispose()
    {
        _key.Dispose();
        _tokenLock.Dispose();
    }

    private sealed class TokenException(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }
}
