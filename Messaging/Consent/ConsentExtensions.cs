using AspireChat.Messaging.Storage;
using AspireChat.Messaging.Storage.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using MongoDB.Driver;
using Npgsql;

namespace AspireChat.Messaging.Consent;

/// <summary>Registers the consent port beside the other stores (called by <c>AddChatAdapters</c>).</summary>
public static class ConsentExtensions
{
    /// <summary>
    /// <see cref="IConsentStore"/> on the store the host already uses — PostgreSQL when the PostgreSQL chat store is
    /// registered, MongoDB when the MongoDB one is, else the embedded RocksDB database — created at start;
    /// <see cref="BlockList"/>; and <c>Consent:*</c> (<see cref="ConsentOptions"/>). Once per host however often called.
    /// </summary>
    public static IHostApplicationBuilder AddConsentStore(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(IConsentStore))) return builder;
        services.AddOptions<ConsentOptions>().Bind(builder.Configuration.GetSection("Consent"))
            .Validate(o => o.MaxBlocksPerUser > 0, "Consent:MaxBlocksPerUser must be positive").ValidateOnStart();
        if (services.Any(d => d.ServiceType == typeof(PostgresMigrator)))
            services.AddSingleton<IConsentStore>(sp => new PostgresConsentStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<PostgresMigrator>()));
        else if (services.Any(d => d.ServiceType == typeof(IMongoDatabase)))
            services.AddSingleton<IConsentStore>(sp => new MongoConsentStore(sp.GetRequiredService<IMongoDatabase>()));
        else
            services.AddSingleton<IConsentStore>(sp => new RocksDbConsentStore(sp.GetRequiredService<RocksDbDatabase>()));
        services.TryAddSingleton<BlockList>();
        services.AddHostedService<ConsentStoreStartup>();
        return builder;
    }

    // The tables exist before the first request or message needs them.
    private sealed class ConsentStoreStartup(IConsentStore consent) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken) => await consent.InitializeAsync(cancellationToken).ConfigureAwait(false);
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
