using AspireChat.Messaging.Storage.Postgres;
using Npgsql;

namespace AspireChat.Tests.Support;

/// <summary>A database of its own on the run's <see cref="PostgresServer"/> for one test class (a class fixture).</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <summary>A migrator of its own: a store opened with it finds the schema the way a freshly started process does.</summary>
    public PostgresMigrator NewMigrator() => new(DataSource);

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        ConnectionString = await server.CreateDatabaseAsync("aspirechat_test");
        // With the connection settings a store process gets (prepared statements, no reset): the contract suites run
        // the store's statements as production does.
        var builder = new NpgsqlDataSourceBuilder(ConnectionString);
        PostgresStoreExtensions.ConfigureConnections(builder);
        DataSource = builder.Build();
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
