namespace AspireChat.Messaging.Push;

/// <summary><c>Push:*</c> settings: collapsing, rate limit, retries, and each provider's credentials.</summary>
public sealed class PushOptions
{
    /// <summary>Requests for one user within this window (from the first) become one notification.</summary>
    public TimeSpan CollapseWindow { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Per-user rate limit: at least this long between two notifications; what comes sooner waits and collapses.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a push service keeps an undelivered notification.</summary>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromDays(1);
    /// <summary>Retries of a provider request that failed transiently (5xx, 408, 429, network).</summary>
    public int MaxRetries { get; set; } = 3;
    /// <summary>First retry delay; it doubles with each retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Timeout of one provider request.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most push subscriptions one user may hold; registering one more replaces the oldest.</summary>
    public int MaxSubscriptionsPerUser { get; set; } = 10;
    /// <summary>Failed attempts in a row after which a subscription is removed (a delivered one resets the count).</summary>
    public int MaxFailures { get; set; } = 5;
    /// <summary>
    /// DANGEROUS: lets push connections reach loopback, private, link-local and other internal addresses. Only for tests
    /// and a webhook receiver on the same machine; in production it reopens server-side request forgery.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    public WebPushOptions WebPush { get; set; } = new();
    public VapidOptions Vapid { get; set; } = new();
    public WebhookOptions Webhook { get; set; } = new();
    public FcmOptions Fcm { get; set; } = new();
    public ApnsOptions Apns { get; set; } = new();
}

/// <summary><c>Push:WebPush:*</c>: which push services a browser subscription may point at.</summary>
public sealed class WebPushOptions
{
    /// <summary>The web push services of FCM (Chrome, Edge on Android), Mozilla, Windows (Edge) and Apple (Safari).</summary>
    public static readonly IReadOnlyList<string> DefaultAllowedHosts =
        ["fcm.googleapis.com", "updates.push.services.mozilla.com", "*.notify.windows.com", "web.push.apple.com"];

    /// <summary>
    /// Hosts a <c>webpush</c> endpoint may name; <c>*.example.com</c> allows its subdomains. Null: <see cref="DefaultAllowedHosts"/>
    /// (a list, rather than defaults in the property, because configuration binding appends to a list it finds).
    /// </summary>
    public string[]? AllowedHosts { get; set; }

    /// <summary>True when <paramref name="host"/> is one of the allowed hosts (or a subdomain of a <c>*.</c> one).</summary>
    public bool Allows(string host)
    {
        foreach (var allowed in AllowedHosts ?? DefaultAllowedHosts)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase) && host.Length > allowed.Length - 1
                : string.Equals(host, allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary><c>Push:Vapid:*</c>: the Web Push application server key pair (base64url, P-256).</summary>
public sealed class VapidOptions
{
    /// <summary>Uncompressed public point (65 bytes), base64url: what browsers subscribe with.</summary>
    public string? PublicKey { get; set; }
    /// <summary>Private scalar (32 bytes), base64url.</summary>
    public string? PrivateKey { get; set; }
    /// <summary>Contact for push services: a <c>mailto:</c> or <c>https:</c> URL.</summary>
    public string Subject { get; set; } = "mailto:push@example.com";
    /// <summary>Without configured keys, a pair is generated once and kept here; empty disables Web Push.</summary>
    public string? KeyFile { get; set; } = "data/vapid.json";
}

/// <summary><c>Push:Webhook:*</c>: signed notifications to the business server.</summary>
public sealed class WebhookOptions
{
    /// <summary>The business server's notification URL; a webhook subscription's endpoint must be this URL or a path under it.</summary>
    public string? Url { get; set; }
    /// <summary>HMAC-SHA256 key the body is signed with (at least 32 bytes of text).</summary>
    public string? Secret { get; set; }
}

/// <summary><c>Push:Fcm:*</c>: Firebase Cloud Messaging HTTP v1 with a service account.</summary>
public sealed class FcmOptions
{
    public string? ProjectId { get; set; }
    /// <summary>The service account's <c>client_email</c>.</summary>
    public string? ClientEmail { get; set; }
    /// <summary>The service account's <c>private_key</c> (PEM, RSA).</summary>
    public string? PrivateKey { get; set; }
    public string Endpoint { get; set; } = "https://fcm.googleapis.com";
    public string TokenUri { get; set; } = "https://oauth2.googleapis.com/token";
}

/// <summary><c>Push:Apns:*</c>: Apple Push Notification service, token-based (a .p8 signing key).</summary>
public sealed class ApnsOptions
{
    public string? TeamId { get; set; }
    public string? KeyId { get; set; }
    /// <summary>The .p8 key (PEM, P-256).</summary>
    public string? PrivateKey { get; set; }
    /// <summary>The app's bundle id (<c>apns-topic</c>).</summary>
    public string? Topic { get; set; }
    /// <summary><c>https://api.sandbox.push.apple.com</c> for development builds.</summary>
    public string Endpoint { get; set; } = "https://api.push.apple.com";
}
