using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Configuration;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// Registers the MongoDB chat store the way an Aspire client integration would (none is served for
/// MongoDB here): client and database from a connection string, a health check, and command tracing.
/// </summary>
public static partial class MongoStoreExtensions
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
    /// Writes are acknowledged once journaled on a majority (<c>w: majority, j: true</c>, <see cref="DurableWrites"/>)
    /// unless the connection string names another write concern, which is then used with a warning; the store's database
    /// reads from the primary whatever the connection string says (a secondary may lag behind the heads just written).
    /// Nothing connects until the first command: the driver connects lazily.
    /// </summary>
    public static IHostApplicationBuilder AddMongoChatStore(this IHostApplicationBuilder builder, string connectionName = "mongo")
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not set; it must hold a MongoDB connection string.");
        var url = MongoUrl.Create(connectionString);

        var services = builder.Services;
        services.TryAddSingleton<IMongoClient>(sp =>
        {
            var settings = MongoClientSettings.FromUrl(url);
            settings.ApplicationName ??= builder.Environment.ApplicationName;
            settings.ClusterConfigurator = MongoCommandTracing.Subscribe;
            // The driver's own spans would repeat ours under another source name.
            settings.TracingOptions = new TracingOptions { Disabled = true };
            settings.WriteConcern = DurableWrites(url, (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(typeof(MongoChatStore)), connectionName);
            return new MongoClient(settings);
        });
        services.TryAddSingleton(sp =>
        {
            var client = sp.GetRequiredService<IMongoClient>();
            return client.GetDatabase(url.DatabaseName ?? DefaultDatabase, new MongoDatabaseSettings
            {
                WriteConcern = client.Settings.WriteConcern,
                ReadPreference = ReadPreference.Primary,
            });
        });
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

    /// <summary>
    /// The write concern of the store: <c>w: majority, j: true</c> — an acknowledged write is in the journal of a majority
    /// of the replica set's members (on a single <c>mongod</c>, in its journal), so neither a killed <c>mongod</c> nor a
    /// failover loses it. Valid on a standalone server and on a replica set. A connection string that names <c>w</c> or
    /// <c>journal</c> is obeyed (an operator's explicit choice), with a warning when it is anything else.
    /// </summary>
    public static WriteConcern DurableWrites(MongoUrl url, ILogger logger, string connectionName = "mongo")
    {
        var w = url.W ?? WriteConcern.WMode.Majority;
        var journal = url.Journal ?? true;
        if (!w.Equals(WriteConcern.WMode.Majority) || !journal)
            LogWeakerWriteConcern(logger, connectionName, w.ToString() ?? "", journal);
        return new WriteConcern(w, url.WTimeout, fsync: null, journal: journal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ConnectionStrings:{ConnectionName} sets the write concern to w: {W}, j: {Journal}; the store's default is w: majority, j: true. An acknowledged message may be lost when a mongod stops or a primary fails over")]
    private static partial void LogWeakerWriteConcern(ILogger logger, string connectionName, string w, bool journal);

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
