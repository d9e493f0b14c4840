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
    public async Task A_writer_replaying_messages_another_holds_uncommitted_waits_and_answers_their_cseqs()
    {
        // A log batch handled by the old and the new owner of a partition at the same moment: the second waits on the
        // heads' row lock, and once the first commits it must see what that one stored — not number it again, nor fail
        // on its ids.
        await database.NewMigrator().MigrateAsync();
        var conv = $"s:a.{Guid.NewGuid():n}:b";
        var body = JsonDocument.Parse("{}").RootElement.Clone();
        var first = Random.Shared.NextInt64(1L << 50);
        var accepted = Enumerable.Range(1, 5).Select(i => new MessageAccepted(first + i, conv, 0, "a", "d", i + 1, "b", 1, body, null, 1)).ToList();
        var (w1, w2) = (new PostgresChatStore(database.DataSource, database.NewMigrator()), new PostgresChatStore(database.DataSource, database.NewMigrator()));
        // The conversation has a committed head already, as any but a brand-new one has.
        using (var earlier = w1.BeginBatch())
        {
            await earlier.AppendMessagesAsync([accepted[0] with { Id = first, Req = 1 }]);
            await earlier.CommitAsync();
        }

        using var holding = w1.BeginBatch();
        var stored = await holding.AppendMessagesAsync(accepted);
        var replay = Task.Run(async () =>
        {
            using var batch = w2.BeginBatch();
            var answered = await batch.AppendMessagesAsync(accepted);
            await batch.CommitAsync();
            return answered;
        });
        await WaitUntilAWriterWaitsOnALockAsync();
        await holding.CommitAsync();

        Assert.Equal([2L, 3L, 4L, 5L, 6L], stored.Select(m => m.Cseq));
        Assert.Equal([2L, 3L, 4L, 5L, 6L], (await replay).Select(m => m.Cseq));
        Assert.Equal(accepted.Select(m => m.Id).Prepend(first), (await new PostgresTimelineStore(database.DataSource).ReadConversationAsync(conv, null, null, 100)).Select(m => m.Id));
    }

    private async Task WaitUntilAWriterWaitsOnALockAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var waiting = database.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        while ((long)(await waiting.ExecuteScalarAsync(timeout.Token))! == 0) await Task.Delay(10, timeout.Token);
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

    [Fact]
    public void Statements_are_prepared_and_pooled_connections_not_reset_unless_the_connection_string_says_otherwise()
    {
        var defaults = new Npgsql.NpgsqlDataSourceBuilder("Host=db;Username=chat");
        PostgresStoreExtensions.ConfigureConnections(defaults);
        Assert.Equal(64, defaults.ConnectionStringBuilder.MaxAutoPrepare);
        Assert.Equal(2, defaults.ConnectionStringBuilder.AutoPrepareMinUsages);
        Assert.True(defaults.ConnectionStringBuilder.NoResetOnClose);

        var chosen = new Npgsql.NpgsqlDataSourceBuilder("Host=db;Username=chat;Max Auto Prepare=0;No Reset On Close=false;Auto Prepare Min Usages=5");
        PostgresStoreExtensions.ConfigureConnections(chosen);
        Assert.Equal(0, chosen.ConnectionStringBuilder.MaxAutoPrepare);
        Assert.Equal(5, chosen.ConnectionStringBuilder.AutoPrepareMinUsages);
        Assert.False(chosen.ConnectionStringBuilder.NoResetOnClose);
    }
}
