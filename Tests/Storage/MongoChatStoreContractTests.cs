using System.Diagnostics;
using AspireChat.Messaging;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MongoDB.Bson;
using MongoDB.Driver;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The MongoDB engine on the server named by <c>ASPIRECHAT_TEST_MONGO</c>, in a database of its own for the test class
/// (null when no server is configured), dropped afterwards. Without that variable every test of its suites reports as
/// skipped: no MongoDB server runs on the build machines, and none is faked.
/// </summary>
public sealed class MongoChatStoreEngine : IChatStoreEngine, IAsyncLifetime
{
    public const string Variable = "ASPIRECHAT_TEST_MONGO";
    public const string SkipReason = "set ASPIRECHAT_TEST_MONGO to a MongoDB connection string";

    private readonly MongoClient? _client;

    public MongoChatStoreEngine()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString)) return;
        _client = new MongoClient(connectionString);
        Database = _client.GetDatabase($"aspirechat_test_{Guid.NewGuid():n}");
    }

    public IMongoDatabase? Database { get; }

    /// <summary>The database, or the test is skipped with <see cref="SkipReason"/>.</summary>
    public IMongoDatabase RequireDatabase()
    {
        Skip.If(Database is null, SkipReason);
        return Database!;
    }

    public async Task<ChatStorePorts> OpenAsync()
    {
        var database = RequireDatabase();
        var heads = new SequenceHeads();
        var pause = new IndexWritePause();
        var store = new MongoChatStore(database, StorageOptions.SendDedupRetention, heads, pause.AtAsync);
        await store.InitializeAsync();
        return new ChatStorePorts(store, new MongoTimelineStore(database, heads), new MongoInboxStore(database, heads),
            new MongoConversationIndex(database), new MongoCursorStore(database), heads, pause) { States = new Messaging.Operations.MongoMessageStateStore(database) };
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_client is null || Database is null) return;
        await _client.DropDatabaseAsync(Database.DatabaseNamespace.DatabaseName);
        _client.Dispose();
    }
}

public sealed class MongoTimelineStoreContractTests(MongoChatStoreEngine engine) : TimelineStoreContract(engine), IClassFixture<MongoChatStoreEngine>;

public sealed class MongoInboxStoreContractTests(MongoChatStoreEngine engine) : InboxStoreContract(engine), IClassFixture<MongoChatStoreEngine>;

public sealed class MongoConversationIndexContractTests(MongoChatStoreEngine engine) : ConversationIndexContract(engine), IClassFixture<MongoChatStoreEngine>;

public sealed class MongoCursorStoreContractTests(MongoChatStoreEngine engine) : CursorStoreContract(engine), IClassFixture<MongoChatStoreEngine>;

/// <summary>The store-as-a-unit contract on MongoDB, plus its collections' indexes and BSON types and its registration.</summary>
public sealed class MongoChatStoreBatchContractTests(MongoChatStoreEngine engine) : ChatStoreBatchContract(engine), IClassFixture<MongoChatStoreEngine>
{
    [SkippableFact]
    public async Task Send_records_expire_through_a_ttl_index_of_the_dedup_retention()
    {
        await OpenStoreAsync();
        var indexes = await (await engine.RequireDatabase().GetCollection<BsonDocument>(MongoChatStore.Sends).Indexes.ListAsync()).ToListAsync();

        var ttl = Assert.Single(indexes, i => i.Contains("expireAfterSeconds"));
        Assert.Equal(new BsonDocument("createdAt", 1), ttl["key"].AsBsonDocument);
        Assert.Equal(StorageOptions.SendDedupRetention.TotalSeconds, ttl["expireAfterSeconds"].ToDouble());
    }

    [SkippableFact]
    public async Task The_keys_of_design_section_5_are_unique_indexes()
    {
        await OpenStoreAsync();
        async Task<string[]> UniqueKeys(string collection) =>
            [.. (await (await engine.RequireDatabase().GetCollection<BsonDocument>(collection).Indexes.ListAsync()).ToListAsync())
                .Where(i => i.GetValue("unique", false).ToBoolean())
                .Select(i => string.Join(",", i["key"].AsBsonDocument.Names))];

        Assert.Equivalent(new[] { "conv,cseq" }, await UniqueKeys(MongoChatStore.Messages), strict: true);
        Assert.Equivalent(new[] { "user,seq", "user,msgId" }, await UniqueKeys(MongoChatStore.Inbox), strict: true);
        Assert.Equivalent(new[] { "user,device" }, await UniqueKeys(MongoChatStore.Cursors), strict: true);
        Assert.Equivalent(new[] { "from,device,req" }, await UniqueKeys(MongoChatStore.Sends), strict: true);
    }

    [SkippableFact]
    public async Task Small_numbers_are_still_stored_as_Int64()
    {
        var store = await OpenStoreAsync();
        var conv = $"s:int64.{Guid.NewGuid():n}:z";
        var body = System.Text.Json.JsonDocument.Parse("{}").RootElement.Clone();
        var message = (await store.AppendMessagesAsync([new MessageAccepted(7, conv, 0, "a", "d", 1, "b", 1, body, null, 1)])).Single();
        await store.AppendInboxAsync([new InboxAppend(conv, message)]);
        await store.AdvanceCursorAsync(conv, "d", 1);
        await store.ReserveSendsAsync([new SendRecord(conv, "d", 1, 7, conv, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())]);

        async Task<BsonDocument> One(string collection, string field) =>
            await engine.RequireDatabase().GetCollection<BsonDocument>(collection).Find(new BsonDocument(field, conv)).SingleAsync();
        var m = await One(MongoChatStore.Messages, "conv");
        var i = await One(MongoChatStore.Inbox, "user");
        var c = await One(MongoChatStore.Cursors, "user");
        var s = await One(MongoChatStore.Sends, "from");
        Assert.All(new[] { m["_id"], m["cseq"], m["ts"], i["seq"], i["msgId"], i["cseq"], c["seq"], s["req"], s["id"], s["ts"] },
            value => Assert.Equal(BsonType.Int64, value.BsonType));
        Assert.Equal(BsonType.DateTime, s["createdAt"].BsonType);
    }

    [SkippableFact]
    public async Task AddMongoChatStore_traces_commands_on_the_AspireChat_source_and_reports_healthy()
    {
        var connectionString = Environment.GetEnvironmentVariable(MongoChatStoreEngine.Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), MongoChatStoreEngine.SkipReason);
        var databaseName = $"aspirechat_trace_{Guid.NewGuid():n}";
        var url = new MongoUrlBuilder(connectionString) { DatabaseName = databaseName }.ToMongoUrl();
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ChatTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { if (Equals(activity.GetTagItem("db.namespace"), databaseName)) lock (spans) spans.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:mongo"] = url.ToString() });
        builder.AddMongoChatStore();
        using var host = builder.Build();
        try
        {
            await host.Services.GetRequiredService<IChatStore>().InitializeAsync();
            var health = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, health.Entries["mongo"].Status);
            lock (spans)
            {
                Assert.Contains(spans, s => s.DisplayName == "createIndexes messages" && Equals(s.GetTagItem("db.system.name"), "mongodb"));
                Assert.Contains(spans, s => s.DisplayName == "ping");
            }
        }
        finally
        {
            await host.Services.GetRequiredService<IMongoClient>().DropDatabaseAsync(databaseName);
        }
    }
}

public sealed class MongoSequenceHeadsContractTests(MongoChatStoreEngine engine) : SequenceHeadsContract(engine), IClassFixture<MongoChatStoreEngine>;

/// <summary>The group store contract on the MongoDB named by <c>ASPIRECHAT_TEST_MONGO</c>; skipped with that reason otherwise.</summary>
public sealed class MongoGroupStoreContractTests(MongoChatStoreEngine engine)
    : GroupStoreContract<MongoGroupStore>, IClassFixture<MongoChatStoreEngine>
{
    protected override async Task<MongoGroupStore> OpenStoreAsync()
    {
        var store = new MongoGroupStore(engine.RequireDatabase());
        await store.InitializeAsync();
        return store;
    }
}
