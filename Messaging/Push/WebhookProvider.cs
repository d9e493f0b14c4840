using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// A signed webhook to the business server, which reaches the device its own way. The JSON body is a
/// <see cref="PushPayload"/>; <c>X-AspireChat-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))</c>
/// with the Unix-seconds <c>X-AspireChat-Timestamp</c> lets the receiver check origin and freshness;
/// <c>X-AspireChat-Delivery</c> stays the same across the retries of one delivery, so it can deduplicate.
/// </summary>
public sealed class WebhookProvider(IHttpClientFactory http, IOptions<PushOptions> options, TimeProvider time) : IPushProvider
{
    public const string HttpClientName = "push-webhook";
    public const string SignatureHeader = "X-AspireChat-Signature";
    public const string TimestampHeader = "X-AspireChat-Timestamp";
    public const string DeliveryHeader = "X-AspireChat-Delivery";

    private readonly Uri _url = new(options.Value.Webhook.Url!, UriKind.Absolute);
    private readonly byte[] _secret = Encoding.UTF8.GetBytes(options.Value.Webhook.Secret!);

    /// <summary>True when <c>Push:Webhook:Url</c> and <c>Push:Webhook:Secret</c> are set; throws when they are set wrongly.</summary>
    public static bool IsConfigured(WebhookOptions webhook)
    {
        if (string.IsNullOrWhiteSpace(webhook.Url) && string.IsNullOrWhiteSpace(webhook.Secret)) return false;
        if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            throw new InvalidOperationException("Push:Webhook:Url must be an absolute http(s) URL");
        if (Encoding.UTF8.GetByteCount(webhook.Secret ?? "") < 32)
            throw new InvalidOperationException("Push:Webhook:Secret must be at least 32 bytes");
        return true;
    }

    public string Kind => PushKinds.Webhook;

    public PushCheck Check(PushSubscription requested)
    {
        if (string.IsNullOrEmpty(requested.Endpoint)) return PushCheck.Accept(requested with { Endpoint = _url.AbsoluteUri, P256dh = null, Auth = null });
        if (!Uri.TryCreate(requested.Endpoint, UriKind.Absolute, out var endpoint) || requested.Endpoint.Length > 2048 || !IsUnderUrl(endpoint))
            return PushCheck.Refuse($"a webhook 'endpoint' must be Push:Webhook:Url ({_url.AbsoluteUri}) or a path under it, or be left out");
        return PushCheck.Accept(requested with { P256dh = null, Auth = null });
    }

    // Same scheme, host and port, no user info, and the configured path or one below it (at a segment boundary). Uri has
    // already removed dot segments, so "/hooks/../admin" arrives here as "/admin".
    private bool IsUnderUrl(Uri endpoint)
    {
        if (Uri.Compare(endpoint, _url, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0
            || !string.IsNullOrEmpty(endpoint.UserInfo))
            return false;
        var root = _url.AbsolutePath;
        var path = endpoint.AbsolutePath;
        if (path.Contains("%2e", StringComparison.OrdinalIgnoreCase) || path.Contains("%2f", StringComparison.OrdinalIgnoreCase)) return false;
        return root.EndsWith('/')
            ? path.StartsWith(root, StringComparison.Ordinal)
            : path == root || path.StartsWith(root + "/", StringComparison.Ordinal);
    }

    public async ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(PushPayload.Of(notification, subscription), PushJson.Default.PushPayload);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, "sha256=" + Convert.ToHexStringLower(Sign(timestamp, body)));
        request.Headers.Add(DeliveryHeader, Guid.NewGuid().ToString("n"));
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
            return PushResult.FromStatus((int)response.StatusCode, response.ReasonPhrase);
        }
        catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new PushResult(PushOutcome.Failed, 0, e.Message);
        }
    }

    private byte[] Sign(string timestamp, byte[] body)
    {
        var signed = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed, timestamp.Length + 1);
        return HMACSHA256.HashData(_secret, signed);
    }
}
