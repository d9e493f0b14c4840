using AspireChat.Messaging.Groups;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The group store contract against <see cref="PostgresGroupStore"/> on a database of the run's PostgreSQL server; always runs.</summary>
public sealed class PostgresGroupStoreContractTests(PostgresDatabase database) : GroupStoreContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IGroupStore> OpenStoreAsync()
    {
        var store = new PostgresGroupStore(database.DataSource, database.NewMigrator());
        await store.InitializeAsync();
        return store;
    }
}
