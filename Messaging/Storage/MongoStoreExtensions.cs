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
    /// Adds <see cref="IMongoClient"/>, <see cref="IMongoDatabase"/> from <c>ConnectionStrings:{connectionName}</c>, every
    /// port of the chat store on it (<see cref="IChatStore"/> = <see cref="MongoChatStore"/>, <see cref="ITimelineStore"/>,
    /// <see cref="IInboxStore"/>, <see cref="IConversationIndex"/>, <see cref="ICursorStore"/>, with the
    /// <see cref="SequenceHeads"/> they share) and of the group store (<see cref="Groups.IGroupStore"/>,
    /// <see cref="Groups.IUserStore"/> = <see cref="Groups.MongoGroupStore"/>) and the push subscriptions
    /// (<see cref="Push.IPushSubscriptionStore"/> = <see cref="Push.MongoPushSubscriptionStore"/>), a <c>ping</c> health
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
        services.TryAddSingleton<SequenceHeads>();
        services.AddSingleton<IChatStore>(sp => new MongoChatStore(sp.GetRequiredService<IMongoDatabase>(), StorageOptions.SendDedupRetention, sp.GetRequiredService<SequenceHeads>()));
        services.AddSingleton<ITimelineStore>(sp => new MongoTimelineStore(sp.GetRequiredService<IMongoDatabase>(), sp.GetRequiredService<SequenceHeads>()));
        services.AddSingleton<IInboxStore>(sp => new MongoInboxStore(sp.GetRequiredService<IMongoDatabase>(), sp.GetRequiredService<SequenceHeads>()));
        services.AddSingleton<IConversationIndex>(sp => new MongoConversationIndex(sp.GetRequiredService<IMongoDatabase>()));
        services.AddSingleton<ICursorStore>(sp => new MongoCursorStore(sp.GetRequiredService<IMongoDatabase>()));
        services.AddSingleton<Operations.IMessageStateStore>(sp => new Operations.MongoMessageStateStore(sp.GetRequiredService<IMongoDatabase>()));
        services.AddSingleton(sp => new Groups.MongoGroupStore(sp.GetRequiredService<IMongoDatabase>()));
        services.AddSingleton<Groups.IGroupStore>(sp => sp.GetRequiredService<Groups.MongoGroupStore>());
        services.AddSingleton<Groups.IUserStore>(sp => sp.GetRequiredService<Groups.MongoGroupStore>());
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
