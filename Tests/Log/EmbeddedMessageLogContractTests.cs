using AspireChat.Messaging.Log;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>The message log contract against <see cref="EmbeddedMessageLog"/> on a temporary SQLite file; always runs.</summary>
public sealed class EmbeddedMessageLogContractTests(EmbeddedMessageLogContractTests.TemporaryLog log)
    : MessageLogContract, IClassFixture<EmbeddedMessageLogContractTests.TemporaryLog>
{
    protected override IMessageLog Log => log.Log;

    protected override Task<LogTopic<LogTestRecord>> NewTopicAsync() =>
        Task.FromResult(new LogTopic<LogTestRecord>($"test.{Guid.NewGuid():n}", r => r.Key, LogTestJson.Default.LogTestRecord));

    /// <summary>One SQLite file and a log on it for the test class, deleted afterwards.</summary>
    public sealed class TemporaryLog : IAsyncLifetime
    {
        private readonly string _directory = TempDirectory.Create();
        private readonly SqliteDatabase _database;

        public TemporaryLog()
        {
            _database = new SqliteDatabase($"Data Source={Path.Combine(_directory, "log.db")}");
            Log = new EmbeddedMessageLog(_database, new EmbeddedLogOptions { Partitions = 4 }, NullLogger<EmbeddedMessageLog>.Instance);
        }

        public EmbeddedMessageLog Log { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            await _database.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
