using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Storage;

/// <summary>The store contract against <see cref="SqliteChatStore"/> on a temporary file; always runs.</summary>
public sealed class SqliteChatStoreContractTests(SqliteChatStoreContractTests.TemporaryDatabase database)
    : ChatStoreContract, IClassFixture<SqliteChatStoreContractTests.TemporaryDatabase>
{
    protected override async Task<IChatStore> OpenStoreAsync()
    {
        var store = new SqliteChatStore(database.Database);
        await store.InitializeAsync();
        return store;
    }

    /// <summary>One SQLite file for the test class, deleted afterwards.</summary>
    public sealed class TemporaryDatabase : IAsyncLifetime
    {
        private readonly string _directory = TempDirectory.Create();

        public TemporaryDatabase() => Database = new SqliteDatabase($"Data Source={Path.Combine(_directory, "chat.db")}");

        public SqliteDatabase Database { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            await Database.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
