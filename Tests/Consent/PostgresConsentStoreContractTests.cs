using AspireChat.Messaging.Consent;
using AspireChat.Tests.Storage;

namespace AspireChat.Tests.Consent;

/// <summary>The consent store contract on a database of the run's PostgreSQL server (the stand-in topology's store); always runs.</summary>
public sealed class PostgresConsentStoreContractTests(PostgresChatStoreEngine engine)
    : ConsentStoreContract, IClassFixture<PostgresChatStoreEngine>
{
    protected override async Task<IConsentStore> OpenStoreAsync()
    {
        var store = new PostgresConsentStore(engine.Database.DataSource, engine.Database.NewMigrator());
        await store.InitializeAsync();
        return store;
    }
}
