using AspireChat.Messaging.Consent;
using AspireChat.Tests.Storage;

namespace AspireChat.Tests.Consent;

/// <summary>The consent store contract on RocksDB (the embedded default); always runs.</summary>
public sealed class RocksDbConsentStoreContractTests(RocksDbChatStoreEngine database)
    : ConsentStoreContract, IClassFixture<RocksDbChatStoreEngine>
{
    protected override async Task<IConsentStore> OpenStoreAsync()
    {
        var store = new RocksDbConsentStore(database.Database);
        await store.InitializeAsync();
        return store;
    }
}
