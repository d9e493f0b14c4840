using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Push;

/// <summary>
/// Sends one collapsed notification to every subscription of its user, each through its kind's provider;
/// records every attempt on the subscription, in metrics and in the log, and removes subscriptions the
/// provider reports gone.
/// </summary>
public sealed partial class PushDispatcher(
    IPushSubscriptionStore store, IEnumerable<IPushProvider> providers, TimeProvider time, IOptions<PushOptions> options, ILogger<PushDispatcher> logger)
{
    private readonly Dictionary<string, IPushProvider> _providers = providers.ToDictionary(p => p.Kind, StringComparer.Ordinal);

    /// <summary>Sends <paramref name="notification"/>; returns the results, one per subscription (none when the user has none).</summary>
    public async ValueTask<IReadOnlyList<PushResult>> DispatchAsync(PushNotification notification, CancellationToken cancellationToken = default)
    {
        using var activity = ChatTelemetry.Source.StartActivity("push");
        activity?.SetTag("user", notification.User);
        activity?.SetTag("count", notification.Count);
        activity?.SetTag("id", notification.Latest.MessageId);
        var subscriptions = await store.GetAsync(notification.User, cancellationToken).ConfigureAwait(false);
        if (subscriptions.Count == 0)
        {
            ChatTelemetry.PushNotifications.Add(1, new KeyValuePair<string, object?>("result", "no_subscription"));
            return [];
        }
        ChatTelemetry.PushNotifications.Add(1, new KeyValuePair<string, object?>("result", "sent"));
        var sends = new Task<PushResult>[subscriptions.Count];
        for (var i = 0; i < subscriptions.Count; i++) sends[i] = SendAsync(subscriptions[i], notification, cancellationToken);
        return await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private async Task<PushResult> SendAsync(PushSubscription subscription, PushNotification notification, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        PushResult result;
        if (!_providers.TryGetValue(subscription.Kind, out var provider))
        {
            // Stored while the kind was enabled; kept, since the provider may be configured again.
            result = new PushResult(PushOutcome.Failed, 0, $"push kind '{subscription.Kind}' is not enabled");
        }
        else
        {
            try
            {
                result = await provider.SendAsync(subscription, notification, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                result = new PushResult(PushOutcome.Failed, 0, e.Message);
            }
        }
        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        var provided = new KeyValuePair<string, object?>("provider", subscription.Kind);
        ChatTelemetry.PushAttempts.Add(1, provided, new KeyValuePair<string, object?>("outcome", Outcome(result.Outcome)));
        ChatTelemetry.PushDuration.Record(elapsed, provided);
        LogAttempt(logger, subscription.Kind, subscription.User, subscription.Device, notification.Count, result.Outcome, result.Status, result.Reason);

        if (result.Outcome == PushOutcome.Gone)
        {
            if (await store.RemoveGoneAsync(subscription, cancellationToken).ConfigureAwait(false))
            {
                ChatTelemetry.PushSubscriptionsRemoved.Add(1, provided);
                LogRemoved(logger, subscription.Kind, subscription.User, subscription.Device, result.Status);
            }
        }
        else if (result.Outcome == PushOutcome.Failed && (subscription.LastAttempt?.Failures ?? 0) + 1 >= options.Value.MaxFailures
            && _providers.ContainsKey(subscription.Kind))
        {
            // An endpoint that keeps failing costs a request per message forever: after MaxFailures in a row it goes.
            if (await store.RemoveGoneAsync(subscription, cancellationToken).ConfigureAwait(false))
            {
                ChatTelemetry.PushSubscriptionsRemoved.Add(1, provided);
                LogRemovedFailing(logger, subscription.Kind, subscription.User, subscription.Device, options.Value.MaxFailures);
            }
        }
        else
        {
            await store.RecordAttemptAsync(subscription, time.GetUtcNow().ToUnixTimeMilliseconds(), result, cancellationToken).ConfigureAwait(false);
        }
        Activity.Current?.AddEvent(new ActivityEvent("push.attempt", tags: new ActivityTagsCollection
        {
            ["provider"] = subscription.Kind, ["device"] = subscription.Device, ["outcome"] = Outcome(result.Outcome), ["status"] = result.Status,
        }));
        return result;
    }

    private static string Outcome(PushOutcome outcome) => outcome switch
    {
        PushOutcome.Delivered => "delivered",
        PushOutcome.Gone => "gone",
        _ => "failed",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Push {Provider} to {User}/{Device} ({Count} messages): {Outcome} {Status} {Reason}")]
    private static partial void LogAttempt(ILogger logger, string provider, string user, string device, int count, PushOutcome outcome, int status, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Push subscription {Provider} of {User}/{Device} removed: {Failures} attempts in a row failed")]
    private static partial void LogRemovedFailing(ILogger logger, string provider, string user, string device, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Push subscription {Provider} of {User}/{Device} removed: the provider answered {Status} (gone)")]
    private static partial void LogRemoved(ILogger logger, string provider, string user, string device, int status);
}
