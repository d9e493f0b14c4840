using AspireChat.Messaging.Consent;
using AspireChat.Tests.Storage;

namespace AspireChat.Tests.Consent;

/// <summary>The consent store contract on the MongoDB named by <c>ASPIRECHAT_TEST_MONGO</c>; skipped with that reason otherwise.</summary>
public sealed class MongoConsentStoreContractTests(MongoChatStoreEngine database)
    : ConsentStoreContract, IClassFixture<MongoChatStoreEngine>
{
    protected override async Task<IConsentStore> OpenStoreAsync()
    {
        Skip.If(database.Database is null, MongoChatStoreEngine.SkipReason);
        var store = new MongoConsentStore(database.Database!);
        await store.InitializeAsync();
        return store;
    }
}
