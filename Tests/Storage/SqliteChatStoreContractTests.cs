using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The SQLite engine on a temporary file, deleted afterwards; one <see cref="SqliteChatStore"/> serves every port. Its suites always run.</summary>
public sealed class SqliteChatStoreEngine : IChatStoreEngine, IAsyncLifetime
{
    private readonly string _directory = TempDirectory.Create();

    public SqliteChatStoreEngine() => Database = new SqliteDatabase($"Data Source={Path.Combine(_directory, "chat.db")}");

    public SqliteDatabase Database { get; }

    public async Task<ChatStorePorts> OpenAsync()
    {
        var heads = new SequenceHeads();
        var store = new SqliteChatStore(Database, heads);
        await store.InitializeAsync();
        return new ChatStorePorts(store, store, store, store, store, heads);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class SqliteTimelineStoreContractTests(SqliteChatStoreEngine engine) : TimelineStoreContract(engine), IClassFixture<SqliteChatStoreEngine>;

public sealed class SqliteInboxStoreContractTests(SqliteChatStoreEngine engine) : InboxStoreContract(engine), IClassFixture<SqliteChatStoreEngine>;

public sealed class SqliteConversationIndexContractTests(SqliteChatStoreEngine engine) : ConversationIndexContract(engine), IClassFixture<SqliteChatStoreEngine>;

public sealed class SqliteCursorStoreContractTests(SqliteChatStoreEngine engine) : CursorStoreContract(engine), IClassFixture<SqliteChatStoreEngine>;

public sealed class SqliteChatStoreBatchContractTests(SqliteChatStoreEngine engine) : ChatStoreBatchContract(engine), IClassFixture<SqliteChatStoreEngine>;

/// <summary>The sequence heads on SQLite: several processes share one file in the stand-in topology.</summary>
public sealed class SqliteSequenceHeadsContractTests(SqliteChatStoreEngine engine) : SequenceHeadsContract(engine), IClassFixture<SqliteChatStoreEngine>;

/// <summary>The group store contract on SQLite; always runs.</summary>
public sealed class SqliteGroupStoreContractTests(SqliteChatStoreEngine engine)
    : GroupStoreContract<SqliteGroupStore>, IClassFixture<SqliteChatStoreEngine>
{
    protected override async Task<SqliteGroupStore> OpenStoreAsync()
    {
        var store = new SqliteGroupStore(engine.Database);
        await store.InitializeAsync();
        return store;
    }
}
