using System.Reflection;
using Npgsql;

namespace AspireChat.Messaging.Storage.Postgres;

/// <summary>
/// Creates and upgrades the PostgreSQL schema: the plain SQL files under <c>Storage/Postgres/Migrations/</c>
/// (embedded, named <c>NNNN_title.sql</c>) applied in order, each recorded in <c>schema_migrations</c>. All of it runs in
/// one transaction under a transaction-level advisory lock, because every service of the topology starts at once and
/// initializes the same database: the first applies what is missing, the others wait and then find nothing to do.
/// </summary>
public sealed class PostgresMigrator(NpgsqlDataSource dataSource)
{
    // Any constant shared by every process of the application; "AspireCh" in ASCII.
    private const long LockKey = 0x4173706972654368;

    private Task? _migrated;
    private readonly Lock _gate = new();

    /// <summary>The migrations in the order they apply: (version, name, SQL).</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } = LoadMigrations();

    /// <summary>Applies the migrations not yet recorded; once per instance (later calls share the first's outcome unless it failed).</summary>
    public Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_migrated is null || _migrated.IsFaulted || _migrated.IsCanceled) _migrated = ApplyAsync(cancellationToken);
            return _migrated;
        }
    }

    private async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, tx, $"""
            SELECT pg_advisory_xact_lock({LockKey});
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
            """, cancellationToken).ConfigureAwait(false);

        var applied = new HashSet<int>();
        await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, tx))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) applied.Add(reader.GetInt32(0));
        }

        foreach (var (version, name, sql) in Migrations)
        {
            if (applied.Contains(version)) continue;
            await ExecuteAsync(connection, tx, sql, cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", connection, tx);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static List<(int, string, string)> LoadMigrations()
    {
        const string folder = "postgres-migrations/";
        var assembly = typeof(PostgresMigrator).Assembly;
        var migrations = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            // "postgres-migrations/0001_initial.sql" (the csproj's LogicalName) → 1, "0001_initial"
            var name = resource[folder.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_')), System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var text = new StreamReader(stream);
            migrations.Add((version, name, text.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return migrations;
    }
}
