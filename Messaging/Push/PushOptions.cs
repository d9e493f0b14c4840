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

    public VapidOptions Vapid { get; set; } = new();
    public WebhookOptions Webhook { get; set; } = new();
    public FcmOptions Fcm { get; set; } = new();
    public ApnsOptions Apns { get; set; } = new();
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
    /// <summary>The business server's notification URL; a webhook subscription's endpoint must be on its origin.</summary>
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
