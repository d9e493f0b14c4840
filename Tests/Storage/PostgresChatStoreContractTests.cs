using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Messaging.Storage.Postgres;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The PostgreSQL engine on a database of its own on the test run's <see cref="PostgresServer"/>: every port over one
/// <see cref="Npgsql.NpgsqlDataSource"/>, each instance with its own migrator (as a freshly started process). Its suites
/// always run. The heads it is given are unused: PostgreSQL keeps them in tables.
/// </summary>
public sealed class PostgresChatStoreEngine : IChatStoreEngine, IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    public PostgresDatabase Database => _database;

    public async Task<ChatStorePorts> OpenAsync()
    {
        var source = _database.DataSource;
        var store = new PostgresChatStore(source, _database.NewMigrator());
        await store.InitializeAsync();
        return new ChatStorePorts(store, new PostgresTimelineStore(source), new PostgresInboxStore(source),
            new PostgresConversationIndex(source), new PostgresCursorStore(source), new SequenceHeads()) { States = new Messaging.Operations.PostgresMessageStateStore(source) };
    }

    public async Task WriterWaitsAsync(CancellationToken cancellationToken)
    {
        await using var waiting = _database.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        while ((long)(await waiting.ExecuteScalarAsync(cancellationToken))! == 0) await Task.Delay(10, cancellationToken);
    }

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();
}

public sealed class PostgresTimelineStoreContractTests(PostgresChatStoreEngine engine) : TimelineStoreContract(engine), IClassFixture<PostgresChatStoreEngine>;

public sealed class PostgresInboxStoreContractTests(PostgresChatStoreEngine engine) : InboxStoreContract(engine), IClassFixture<PostgresChatStoreEngine>;

public sealed class PostgresConversationIndexContractTests(PostgresChatStoreEngine engine) : ConversationIndexContract(engine), IClassFixture<PostgresChatStoreEngine>;

public sealed class PostgresCursorStoreContractTests(PostgresChatStoreEngine engine) : CursorStoreContract(engine), IClassFixture<PostgresChatStoreEngine>;

public sealed class PostgresChatStoreBatchContractTests(PostgresChatStoreEngine engine) : ChatStoreBatchContract(engine), IClassFixture<PostgresChatStoreEngine>;

/// <summary>
/// Two workers handing a partition back and forth on PostgreSQL: the heads they are told to forget are not what numbers
/// the appends (the heads tables and their row locks are), so the sequences stay contiguous either way.
/// </summary>
public sealed class PostgresSequenceHeadsContractTests(PostgresChatStoreEngine engine) : SequenceHeadsContract(engine), IClassFixture<PostgresChatStoreEngine>;

/// <summary>The group and user store contract on PostgreSQL; always runs.</summary>
public sealed class PostgresGroupStoreContractTests(PostgresChatStoreEngine engine)
    : GroupStoreContract<PostgresGroupStore>, IClassFixture<PostgresChatStoreEngine>
{
    protected override async Task<PostgresGroupStore> OpenStoreAsync()
    {
        var store = new PostgresGroupStore(engine.Database.DataSource, engine.Database.NewMigrator());
        await store.InitializeAsync();
        return store;
    }
}
