using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace AspireChat.Messaging.Push;

/// <summary>Registers push: subscriptions, the providers <c>Push:*</c> configures, collapsing and the <c>chat.push</c> consumer.</summary>
public static class PushExtensions
{
    /// <summary>
    /// Everything push needs beside the ports (<see cref="Log.IMessageLog"/>, <see cref="Presence.IPresenceStore"/>,
    /// <see cref="IPushSubscriptionStore"/>, registered with the store): the providers that are configured — Web Push when VAPID
    /// keys are given or may be generated, the webhook, FCM and APNs when their credentials are — each with its own
    /// HTTP client and retry pipeline, and the consumer of <c>chat.push</c>.
    /// </summary>
    public static IHostApplicationBuilder AddPushService(this IHostApplicationBuilder builder)
    {
        builder.AddPushSubscriptions();
        var services = builder.Services;
        services.TryAddSingleton<PushDispatcher>();
        services.TryAddSingleton<PushCollapser>();
        services.AddHostedService<PushHost>();
        return builder;
    }

    /// <summary>
    /// What a gateway needs to serve the push API without consuming <c>chat.push</c> (the PushService does that in the
    /// distributed topology): the configured providers (which kinds a device may register), the VAPID key and the
    /// subscriptions table, created at start.
    /// </summary>
    public static IHostApplicationBuilder AddPushSubscriptions(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(PushRegistry))) return builder;
        var services = builder.Services;
        var section = builder.Configuration.GetSection("Push");
        var options = section.Get<PushOptions>() ?? new PushOptions();
        services.Configure<PushOptions>(section);
        services.AddOptions<PushOptions>()
            .Validate(o => o.MaxSubscriptionsPerUser >= 1, "Push:MaxSubscriptionsPerUser must be at least 1")
            .Validate(o => o.MaxFailures >= 1, "Push:MaxFailures must be at least 1")
            .Validate(o => o.WebPush.AllowedHosts is null || o.WebPush.AllowedHosts.All(h => !string.IsNullOrWhiteSpace(h) && h != "*."),
                "Push:WebPush:AllowedHosts must name hosts (or *.domain)")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<VapidKeys>();
        services.TryAddSingleton<PushConnectGuard>();
        // A failing push subscription is one line of the dispatcher's log (PushDispatcher.LogAttempt), not a stack trace per
        // retry from the HTTP client and the resilience pipeline: anyone can register an endpoint that fails.
        builder.Logging.AddFilter("System.Net.Http.HttpClient.push-", LogLevel.Error);
        services.AddOptions<TelemetryOptions>().PostConfigure(telemetry =>
        {
            var previous = telemetry.SeverityProvider;
            telemetry.SeverityProvider = args => args.Source.PipelineName?.StartsWith("push-", StringComparison.Ordinal) == true
                ? ResilienceEventSeverity.Debug
                : previous?.Invoke(args) ?? args.Event.Severity;
        });

        if (VapidKeys.IsEnabled(options.Vapid)) AddProvider<WebPushProvider>(services, WebPushProvider.HttpClientName);
        if (WebhookProvider.IsConfigured(options.Webhook)) AddProvider<WebhookProvider>(services, WebhookProvider.HttpClientName);
        if (FcmProvider.IsConfigured(options.Fcm)) AddProvider<FcmProvider>(services, FcmProvider.HttpClientName);
        if (ApnsProvider.IsConfigured(options.Apns)) AddProvider<ApnsProvider>(services, ApnsProvider.HttpClientName);

        services.TryAddSingleton<PushRegistry>();
        services.AddHostedService<PushSubscriptionsStartup>();
        return builder;
    }

    private static void AddProvider<TProvider>(IServiceCollection services, string httpClientName) where TProvider : class, IPushProvider
    {
        services.AddSingleton<IPushProvider, TProvider>();
        // RemoveAllResilienceHandlers is marked experimental (EXTEXP0001); it is the documented way to replace the
        // handler ConfigureHttpClientDefaults adds to every client, and stacking two retry layers would square the retries.
#pragma warning disable EXTEXP0001
        services.AddHttpClient(httpClientName)
            // Every connection a push provider opens goes through the guard: no internal addresses, whatever DNS says.
            .UseSocketsHttpHandler((handler, provider) => provider.GetRequiredService<PushConnectGuard>().Apply(handler))
            // One pipeline of our own instead of the service defaults' standard one: retries with backoff for
            // transient answers (5xx, 408, 429 with Retry-After, network errors) and a timeout per attempt.
            .RemoveAllResilienceHandlers()
            .AddResilienceHandler("push", (pipeline, context) =>
            {
                var push = context.ServiceProvider.GetRequiredService<IOptions<PushOptions>>().Value;
                if (push.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = push.MaxRetries,
                        Delay = push.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        // A refused address stays refused: retrying it only multiplies the attempts a hostile endpoint causes.
                        ShouldHandle = args => ValueTask.FromResult(
                            args.Outcome.Exception is not { InnerException: PushAddressRefusedException }
                            && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                    });
                }
                pipeline.AddTimeout(push.AttemptTimeout);
            });
#pragma warning restore EXTEXP0001
    }

    // The table exists before the HTTP API can store the first subscription; the VAPID key is read (or generated) at start, so
    // a key file open to other users stops the start rather than the first push.
    private sealed class PushSubscriptionsStartup(IPushSubscriptionStore subscriptions, VapidKeys vapid) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await subscriptions.InitializeAsync(cancellationToken).ConfigureAwait(false);
            if (vapid.Enabled) _ = vapid.PublicKey;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
