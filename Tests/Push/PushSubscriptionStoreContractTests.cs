using AspireChat.Messaging.Push;
using AspireChat.Tests.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Push;

/// <summary>The push subscription store contract on RocksDB; always runs.</summary>
public sealed class RocksDbPushSubscriptionStoreContractTests(RocksDbChatStoreEngine database)
    : PushSubscriptionStoreContract, IClassFixture<RocksDbChatStoreEngine>
{
    protected override async Task<IPushSubscriptionStore> OpenStoreAsync()
    {
        var store = new RocksDbPushSubscriptionStore(database.Database);
        await store.InitializeAsync();
        return store;
    }
}

/// <summary>The push subscription store contract on a database of the run's PostgreSQL server; always runs.</summary>
public sealed class PostgresPushSubscriptionStoreContractTests(PostgresDatabase database) : PushSubscriptionStoreContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IPushSubscriptionStore> OpenStoreAsync()
    {
        var store = new PostgresPushSubscriptionStore(database.DataSource, database.NewMigrator());
        await store.InitializeAsync();
        return store;
    }
}

/// <summary>The push subscription store contract on the MongoDB named by <c>ASPIRECHAT_TEST_MONGO</c>; skipped with that reason otherwise.</summary>
public sealed class MongoPushSubscriptionStoreContractTests(MongoChatStoreEngine engine)
    : PushSubscriptionStoreContract, IClassFixture<MongoChatStoreEngine>
{
    protected override async Task<IPushSubscriptionStore> OpenStoreAsync()
    {
        var store = new MongoPushSubscriptionStore(engine.RequireDatabase());
        await store.InitializeAsync();
        return store;
    }
}
