using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Storage;
using AspireChat.Messaging.Storage.Postgres;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MongoDB.Driver;

namespace AspireChat.Tests.Storage;

/// <summary>
/// <c>AddChatGateway</c> picks the store from configuration (docs/configuration.md). The MongoDB driver connects lazily,
/// so choosing and building the MongoDB store needs no server.
/// </summary>
public sealed class StoreSelectionTests
{
    [Fact]
    public async Task A_mongo_connection_string_selects_the_MongoDB_store()
    {
        await using var host = BuildPipeline("mongodb://127.0.0.1:1/history?serverSelectionTimeoutMS=200&connectTimeoutMS=200");

        Assert.IsType<MongoChatStore>(host.Services.GetRequiredService<IChatStore>());
        Assert.IsType<AspireChat.Messaging.Groups.MongoGroupStore>(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IGroupStore>());
        Assert.IsType<MongoTimelineStore>(host.Services.GetRequiredService<ITimelineStore>());
        Assert.IsType<MongoInboxStore>(host.Services.GetRequiredService<IInboxStore>());
        Assert.IsType<MongoConversationIndex>(host.Services.GetRequiredService<IConversationIndex>());
        Assert.IsType<MongoCursorStore>(host.Services.GetRequiredService<ICursorStore>());
        Assert.IsType<AspireChat.Messaging.Groups.MongoGroupStore>(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IUserStore>());
        Assert.Equal("history", host.Services.GetRequiredService<IMongoDatabase>().DatabaseNamespace.DatabaseName);
        var server = Assert.Single(host.Services.GetRequiredService<IMongoClient>().Settings.Servers);
        Assert.Equal(("127.0.0.1", 1), (server.Host, server.Port));
    }

    [Fact]
    public async Task A_mongo_connection_string_without_a_database_uses_the_default_one()
    {
        await using var host = BuildPipeline("mongodb://127.0.0.1:1");

        Assert.Equal(MongoStoreExtensions.DefaultDatabase, host.Services.GetRequiredService<IMongoDatabase>().DatabaseNamespace.DatabaseName);
    }

    [Fact]
    public async Task The_MongoDB_health_check_reports_an_unreachable_server_as_unhealthy()
    {
        await using var host = BuildPipeline("mongodb://127.0.0.1:1/history?serverSelectionTimeoutMS=200&connectTimeoutMS=200");

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["mongo"].Status);
    }

    [Fact]
    public async Task With_neither_postgres_nor_mongo_the_embedded_RocksDB_store_is_used_in_the_storage_path()
    {
        await using var host = BuildPipeline(mongo: null);

        Assert.IsType<RocksDbChatStore>(host.Services.GetRequiredService<IChatStore>());
        Assert.IsType<AspireChat.Messaging.Groups.RocksDbGroupStore>(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IGroupStore>());
        Assert.IsType<RocksDbTimelineStore>(host.Services.GetRequiredService<ITimelineStore>());
        Assert.IsType<RocksDbInboxStore>(host.Services.GetRequiredService<IInboxStore>());
        Assert.IsType<RocksDbConversationIndex>(host.Services.GetRequiredService<IConversationIndex>());
        Assert.IsType<RocksDbCursorStore>(host.Services.GetRequiredService<ICursorStore>());
        Assert.Same(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IGroupStore>(), host.Services.GetRequiredService<AspireChat.Messaging.Groups.IUserStore>());
        Assert.IsType<AspireChat.Messaging.Push.RocksDbPushSubscriptionStore>(host.Services.GetRequiredService<AspireChat.Messaging.Push.IPushSubscriptionStore>());
        Assert.IsType<AspireChat.Messaging.Pipeline.EmbeddedComposition>(host.Services.GetRequiredService<AspireChat.Messaging.Pipeline.IPipelineComposition>());
        Assert.StartsWith(host.Directory, host.Services.GetRequiredService<RocksDbDatabase>().Path);
    }

    [Fact]
    public async Task A_postgres_connection_string_selects_the_PostgreSQL_store_for_every_store_port_with_its_health_check()
    {
        await using var host = BuildPipeline(mongo: "mongodb://127.0.0.1:1/history", postgres: "Host=127.0.0.1;Port=1;Username=chat;Database=aspirechat");

        Assert.IsType<PostgresChatStore>(host.Services.GetRequiredService<IChatStore>());
        Assert.IsType<PostgresTimelineStore>(host.Services.GetRequiredService<ITimelineStore>());
        Assert.IsType<PostgresInboxStore>(host.Services.GetRequiredService<IInboxStore>());
        Assert.IsType<PostgresConversationIndex>(host.Services.GetRequiredService<IConversationIndex>());
        Assert.IsType<PostgresCursorStore>(host.Services.GetRequiredService<ICursorStore>());
        Assert.IsType<AspireChat.Messaging.Groups.PostgresGroupStore>(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IGroupStore>());
        Assert.IsType<AspireChat.Messaging.Push.PostgresPushSubscriptionStore>(host.Services.GetRequiredService<AspireChat.Messaging.Push.IPushSubscriptionStore>());
        Assert.IsType<AspireChat.Messaging.Groups.PostgresGroupStore>(host.Services.GetRequiredService<AspireChat.Messaging.Groups.IUserStore>());
        Assert.Null(host.Services.GetService<IMongoClient>());
        var checks = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        Assert.Contains(checks, c => c.Name.Contains("postgres", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(checks, c => c.Name == "mongo");
    }

    [Fact]
    public async Task The_MongoDB_store_keeps_push_subscriptions_in_MongoDB_too()
    {
        await using var host = BuildPipeline("mongodb://127.0.0.1:1/history?serverSelectionTimeoutMS=200&connectTimeoutMS=200");

        Assert.IsType<AspireChat.Messaging.Push.MongoPushSubscriptionStore>(host.Services.GetRequiredService<AspireChat.Messaging.Push.IPushSubscriptionStore>());
    }

    [Fact]
    public async Task The_MongoDB_store_writes_with_w_majority_and_j_true_and_reads_from_the_primary_whatever_the_uri_prefers()
    {
        var logs = new CapturedLogs();
        await using var host = BuildPipeline("mongodb://127.0.0.1:1/history?readPreference=secondaryPreferred", logs: logs);

        var client = host.Services.GetRequiredService<IMongoClient>().Settings;
        var database = host.Services.GetRequiredService<IMongoDatabase>().Settings;
        Assert.Equal((WriteConcern.WMode.Majority, (bool?)true), (client.WriteConcern.W, client.WriteConcern.Journal));
        Assert.Equal((WriteConcern.WMode.Majority, (bool?)true), (database.WriteConcern.W, database.WriteConcern.Journal));
        Assert.Equal(ReadPreference.Primary, database.ReadPreference);
        Assert.DoesNotContain(logs.AtLeast(Microsoft.Extensions.Logging.LogLevel.Warning), m => m.Contains("write concern", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_mongo_connection_string_that_lowers_the_write_concern_is_obeyed_with_a_warning_that_names_the_default()
    {
        var logs = new CapturedLogs();
        await using var host = BuildPipeline("mongodb://127.0.0.1:1/history?w=1&journal=false", logs: logs);

        var concern = host.Services.GetRequiredService<IMongoDatabase>().Settings.WriteConcern;
        Assert.Equal((new WriteConcern.WCount(1), (bool?)false), (concern.W, concern.Journal));
        var warning = Assert.Single(logs.AtLeast(Microsoft.Extensions.Logging.LogLevel.Warning), m => m.Contains("write concern", StringComparison.Ordinal));
        Assert.Contains("ConnectionStrings:mongo", warning);
        Assert.Contains("w: majority, j: true", warning);
    }

    private static Pipeline BuildPipeline(string? mongo, string? postgres = null, CapturedLogs? logs = null)
    {
        var directory = TempDirectory.Create();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (logs is not null) builder.Logging.AddProvider(logs);
        var settings = new Dictionary<string, string?> { ["Storage:Path"] = Path.Combine(directory, "store") };
        if (postgres is not null) settings["ConnectionStrings:postgres"] = postgres;
        if (mongo is not null) settings["ConnectionStrings:mongo"] = mongo;
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddChatGateway();
        return new Pipeline(builder.Build(), directory);
    }

    /// <summary>The built (never started) host; disposed asynchronously, as the Npgsql data source requires.</summary>
    private sealed class Pipeline(IHost host, string directory) : IAsyncDisposable
    {
        public IServiceProvider Services => host.Services;
        public string Directory => directory;

        public async ValueTask DisposeAsync()
        {
            await ((IAsyncDisposable)host).DisposeAsync();
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }
}
