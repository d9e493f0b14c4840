namespace AspireChat.Messaging.Push;

/// <summary>
/// A way to reach an offline device: Web Push, the business server's webhook, FCM or APNs. One provider per
/// subscription kind; only configured providers are registered.
/// </summary>
public interface IPushProvider
{
    /// <summary>The subscription kind this provider serves (<see cref="PushKinds"/>).</summary>
    string Kind { get; }

    /// <summary>Checks a requested subscription: the one to store (completed where the provider has defaults) or why not.</summary>
    PushCheck Check(PushSubscription requested);

    /// <summary>Sends one notification to one subscription. Transient failures are retried inside; never throws for a provider's answer.</summary>
    ValueTask<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken = default);
}

/// <summary>The verdict on a requested subscription: <see cref="Accepted"/>, or a <see cref="Problem"/> to answer with.</summary>
public sealed record PushCheck(PushSubscription? Accepted, string? Problem)
{
    public static PushCheck Accept(PushSubscription subscription) => new(subscription, null);
    public static PushCheck Refuse(string problem) => new(null, problem);
}
