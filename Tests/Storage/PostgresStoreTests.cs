using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Storage.Postgres;
using AspireChat.Tests.Support;
using Npgsql;

namespace AspireChat.Tests.Storage;

/// <summary>What the PostgreSQL store adds to the contract: its migrations, and heads that stay right with two writers.</summary>
public sealed class PostgresStoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Processes_starting_at_once_apply_each_migration_once_and_record_it()
    {
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => database.NewMigrator().MigrateAsync()));

        await using var select = database.DataSource.CreateCommand("SELECT version, name FROM schema_migrations ORDER BY version");
        await using var reader = await select.ExecuteReaderAsync();
        var recorded = new List<(int, string)>();
        while (await reader.ReadAsync()) recorded.Add((reader.GetInt32(0), reader.GetString(1)));
        Assert.Equal(PostgresMigrator.Migrations.Select(m => (m.Version, m.Name)), recorded);
        Assert.Equal((1, "0001_initial"), recorded[0]);
    }

    [Fact]
    public async Task Two_writers_of_one_conversation_and_one_inbox_still_number_without_gaps_or_duplicates()
    {
        // A partition owned by two workers for a moment (a rebalance): each has its own store instance, both write at once.
        await database.NewMigrator().MigrateAsync();
        var (first, second) = (new PostgresChatStore(database.DataSource, database.NewMigrator()), new PostgresChatStore(database.DataSource, database.NewMigrator()));
        var (timeline, inbox) = (new PostgresTimelineStore(database.DataSource), new PostgresInboxStore(database.DataSource));
        var conv = $"s:a.{Guid.NewGuid():n}:b";
        var user = $"u.{Guid.NewGuid():n}";
        var body = JsonDocument.Parse("{}").RootElement.Clone();
        var nextId = Random.Shared.NextInt64(1L << 50);
        MessageAccepted Accepted() { var id = Interlocked.Increment(ref nextId); return new MessageAccepted(id, conv, 0, "a", "d", id, "b", 1, body, null, 1); }

        async Task WriteAsync(PostgresChatStore store)
        {
            for (var i = 0; i < 20; i++)
            {
                using var batch = store.BeginBatch();
                var stored = await batch.AppendMessagesAsync([Accepted(), Accepted(), Accepted()]);
                await batch.AppendInboxAsync([.. stored.Select(m => new InboxAppend(user, m))]);
                await batch.CommitAsync();
            }
        }
        await Task.WhenAll(WriteAsync(first), WriteAsync(second));

        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), (await timeline.ReadConversationAsync(conv, null, null, 500)).Select(m => m.Cseq));
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), (await inbox.ReadInboxAsync(user, 0, 500)).Select(e => e.Seq));
        Assert.Equal(120, await inbox.GetInboxHeadAsync(user));
    }

    [Fact]
    public async Task A_batch_disposed_without_a_commit_leaves_nothing_behind()
    {
        var store = new PostgresChatStore(database.DataSource, database.NewMigrator());
        await store.InitializeAsync();
        var conv = $"s:a.{Guid.NewGuid():n}:b";
        var body = JsonDocument.Parse("{}").RootElement.Clone();

        using (var batch = store.BeginBatch())
        {
            await batch.AppendMessagesAsync([new MessageAccepted(Random.Shared.NextInt64(1L << 50), conv, 0, "a", "d", 1, "b", 1, body, null, 1)]);
        }

        Assert.Empty(await new PostgresTimelineStore(database.DataSource).ReadConversationAsync(conv, null, null, 10));
        Assert.Equal([1L], (await store.AppendMessagesAsync([new MessageAccepted(Random.Shared.NextInt64(1L << 50), conv, 0, "a", "d", 2, "b", 1, body, null, 2)])).Select(m => m.Cseq));
    }
}
