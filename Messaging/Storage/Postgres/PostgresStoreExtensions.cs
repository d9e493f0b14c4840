using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Push;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>Registers the PostgreSQL store: every store port over one <see cref="NpgsqlDataSource"/>.</summary>
public static class PostgresStoreExtensions
{
    /// <summary>
    /// Adds the <see cref="NpgsqlDataSource"/> of <c>ConnectionStrings:{connectionName}</c> through Aspire's client
    /// integration (a health check, tracing and metrics come with it), the schema's <see cref="PostgresMigrator"/>, and the
    /// PostgreSQL adapter of each store port: <see cref="IChatStore"/>, <see cref="ITimelineStore"/>, <see cref="IInboxStore"/>,
    /// <see cref="IConversationIndex"/>, <see cref="ICursorStore"/>, <see cref="Operations.IMessageStateStore"/>, <see cref="IGroupStore"/>, <see cref="IUserStore"/> and
    /// <see cref="IPushSubscriptionStore"/>.
    /// </summary>
    public static IHostApplicationBuilder AddPostgresChatStore(this IHostApplicationBuilder builder, string connectionName = "postgres")
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(connectionName)))
            throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not set; it must hold a PostgreSQL (Npgsql) connection string.");
        builder.AddNpgsqlDataSource(connectionName, configureDataSourceBuilder: ConfigureConnections);

        var services = builder.Services;
        services.AddSingleton<PostgresMigrator>();
        services.AddSingleton<IChatStore, PostgresChatStore>();
        services.AddSingleton<ITimelineStore, PostgresTimelineStore>();
        services.AddSingleton<IInboxStore, PostgresInboxStore>();
        services.AddSingleton<IConversationIndex, PostgresConversationIndex>();
        services.AddSingleton<ICursorStore, PostgresCursorStore>();
        services.AddSingleton<Operations.IMessageStateStore, Operations.PostgresMessageStateStore>();
        services.AddSingleton<PostgresGroupStore>();
        services.AddSingleton<IGroupStore>(sp => sp.GetRequiredService<PostgresGroupStore>());
        services.AddSingleton<IUserStore>(sp => sp.GetRequiredService<PostgresGroupStore>());
        services.AddSingleton<IPushSubscriptionStore, PostgresPushSubscriptionStore>();
        return builder;
    }

    /// <summary>
    /// What the store asks of every connection unless its connection string says otherwise: statements it runs again and
    /// again are prepared once per connection (<c>Max Auto Prepare</c>; without it the server parses and plans each one
    /// anew — the largest part of its CPU per message, measured in issue 22), and a connection back in the pool is not
    /// reset with <c>DISCARD ALL</c> (<c>No Reset On Close</c>: a round trip and a reset per use, and the store leaves no
    /// session state — no <c>SET</c>, no temporary tables, no <c>LISTEN</c>).
    /// </summary>
    internal static void ConfigureConnections(NpgsqlDataSourceBuilder dataSource)
    {
        var settings = dataSource.ConnectionStringBuilder;
        var given = dataSource.ConnectionString.Replace(" ", "", StringComparison.Ordinal);
        if (!Given(given, "MaxAutoPrepare")) settings.MaxAutoPrepare = 64;
        if (!Given(given, "AutoPrepareMinUsages")) settings.AutoPrepareMinUsages = 2;
        if (!Given(given, "NoResetOnClose")) settings.NoResetOnClose = true;
    }

    private static bool Given(string connectionString, string keyword) => connectionString.Contains(keyword + "=", StringComparison.OrdinalIgnoreCase);
}
