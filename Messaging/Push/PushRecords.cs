namespace AspireChat.Messaging.Push;

/// <summary>The kinds of push subscription, one per provider.</summary>
public static class PushKinds
{
    public const string WebPush = "webpush";
    public const string Webhook = "webhook";
    public const string Fcm = "fcm";
    public const string Apns = "apns";

    public static readonly IReadOnlyList<string> All = [WebPush, Webhook, Fcm, Apns];
}

/// <summary>
/// How to reach one device of a user while it is offline. <paramref name="Endpoint"/> is the push service URL
/// (Web Push), the business server URL (webhook) or the device's registration token (FCM, APNs);
/// <paramref name="P256dh"/> and <paramref name="Auth"/> are the Web Push encryption keys.
/// </summary>
public sealed record PushSubscription(
    string User, string Device, string Kind, string Endpoint, string? P256dh, string? Auth, long Created,
    PushAttempt? LastAttempt = null);

/// <summary>The outcome of one send to a provider.</summary>
public enum PushOutcome
{
    /// <summary>The provider accepted the notification.</summary>
    Delivered,
    /// <summary>The provider says the subscription no longer exists (HTTP 404/410): it is removed.</summary>
    Gone,
    /// <summary>Anything else (after the retries of transient failures).</summary>
    Failed,
}

/// <summary>What a provider answered: the outcome, the HTTP status (0 when none came) and a short reason.</summary>
public sealed record PushResult(PushOutcome Outcome, int Status, string? Reason = null)
{
    public static PushResult FromStatus(int status, string? reason = null) => new(status switch
    {
        >= 200 and < 300 => PushOutcome.Delivered,
        404 or 410 => PushOutcome.Gone,
        _ => PushOutcome.Failed,
    }, status, reason);
}

/// <summary>The last attempt recorded on a subscription, and how many attempts in a row failed.</summary>
public sealed record PushAttempt(long At, PushOutcome Outcome, int Status, int Failures);

/// <summary>One collapsed notification: <paramref name="Count"/> new messages for the user, the latest described.</summary>
public sealed record PushNotification(string User, int Count, PushRequested Latest)
{
    /// <summary>One of the collapsed messages mentions the user.</summary>
    public bool Mention { get; init; }
}
