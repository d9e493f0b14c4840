using AspireChat.Messaging.Consent;
using AspireChat.Tests.Storage;

namespace AspireChat.Tests.Consent;

/// <summary>The consent store contract on SQLite (the stand-in topology's store); always runs.</summary>
public sealed class SqliteConsentStoreContractTests(SqliteChatStoreEngine database)
    : ConsentStoreContract, IClassFixture<SqliteChatStoreEngine>
{
    protected override async Task<IConsentStore> OpenStoreAsync()
    {
        var store = new SqliteConsentStore(database.Database);
        await store.InitializeAsync();
        return store;
    }
}
