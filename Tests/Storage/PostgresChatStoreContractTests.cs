using AspireChat.Messaging.Storage;
using AspireChat.Messaging.Storage.Postgres;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The store contract against <see cref="PostgresChatStore"/> on a database of the run's PostgreSQL server; always runs.</summary>
public sealed class PostgresChatStoreContractTests(PostgresDatabase database) : ChatStoreContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IChatStore> OpenStoreAsync()
    {
        var store = new PostgresChatStore(database.DataSource, database.NewMigrator());
        await store.InitializeAsync();
        return store;
    }
}
