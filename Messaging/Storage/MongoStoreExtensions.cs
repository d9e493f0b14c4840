using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Configuration;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// Registers the MongoDB chat store the way an Aspire client integration would (none is served for
/// MongoDB here): client and database from a connection string, a health check, and command tracing.
/// </summary>
public static class MongoStoreExtensions
{
    /// <summary>Database used when the connection string names none (e.g. <c>mongodb://host:27017</c>).</summary>
    public const string DefaultDatabase = "aspirechat";

    /// <summary>
    /// Adds <see cref="IMongoClient"/>, <see cref="IMongoDatabase"/>, <see cref="IChatStore"/> =
    /// <see cref="MongoChatStore"/>, the group store and the push subscription store from <c>ConnectionStrings:{connectionName}</c>, a <c>ping</c> health
    /// check named after the connection, and a span per command on the <c>AspireChat</c> source.
    /// Nothing connects until the first command: the driver connects lazily.
    /// </summary>
    public static IHostApplicationBuilder AddMongoChatStore(this IHostApplicationBuilder builder, string connectionName = "mongo")
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not set; it must hold a MongoDB connection string.");
        var url = MongoUrl.Create(connectionString);

        var services = builder.Services;
        services.TryAddSingleton<IMongoClient>(_ =>
        {
            var settings = MongoClientSettings.FromUrl(url);
            settings.ApplicationName ??= builder.Environment.ApplicationName;
            settings.ClusterConfigurator = MongoCommandTracing.Subscribe;
            // The driver's own spans would repeat ours under another source name.
            settings.TracingOptions = new TracingOptions { Disabled = true };
            return new MongoClient(settings);
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<IMongoClient>().GetDatabase(url.DatabaseName ?? DefaultDatabase));
        services.AddSingleton<IChatStore>(sp => new MongoChatStore(sp.GetRequiredService<IMongoDatabase>(), StorageOptions.SendDedupRetention));
        services.AddSingleton<Groups.IGroupStore>(sp => new Groups.MongoGroupStore(sp.GetRequiredService<IMongoDatabase>()));
        services.AddSingleton<Push.IPushSubscriptionStore>(sp => new Push.MongoPushSubscriptionStore(sp.GetRequiredService<IMongoDatabase>()));

        services.AddHealthChecks().Add(new HealthCheckRegistration(connectionName,
            sp => new MongoPingHealthCheck(sp.GetRequiredService<IMongoDatabase>()), failureStatus: null, tags: null, timeout: TimeSpan.FromSeconds(5)));
        return builder;
    }

    /// <summary>Healthy when the server answers <c>ping</c>.</summary>
    private sealed class MongoPingHealthCheck(IMongoDatabase database) : IHealthCheck
    {
        private static readonly BsonDocument Ping = new("ping", 1);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await database.RunCommandAsync<BsonDocument>(Ping, cancellationToken: cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "MongoDB did not answer ping", e);
            }
        }
    }
}
