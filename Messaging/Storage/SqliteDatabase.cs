using Microsoft.Data.Sqlite;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// One SQLite file in WAL mode shared by the embedded store and the embedded log. SQLite has one
/// writer at a time, so writes go through one connection under an async lock (callers batch to
/// amortize it); reads use pooled connections and never wait for the writer.
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SqliteConnection _writer;
    private readonly string _readConnectionString;

    public SqliteDatabase(string connectionString, bool synchronousFull = false)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true };
        if (builder.DataSource is { Length: > 0 } path && path != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            // The file holds every message body: only this user may enter its folder.
            if (!string.IsNullOrEmpty(dir)) PrivateFiles.CreateFolder(dir);
        }
        ConnectionString = builder.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder(ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString();
        _writer = new SqliteConnection(ConnectionString);
        _writer.Open();
        // WAL + NORMAL: a committed transaction survives a process crash (kill -9); FULL also survives power loss.
        Execute(_writer, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={(synchronousFull ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=OFF;");
    }

    public string ConnectionString { get; }

    /// <summary>Runs <paramref name="work"/> in one write transaction; commits when it returns.</summary>
    /// <remarks><paramref name="committed"/> runs after the commit, still under the write lock, so what it
    /// publishes is published in commit order.</remarks>
    public async ValueTask<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken = default, Action<T>? committed = null)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            T result;
            using (var tx = _writer.BeginTransaction())
            {
                result = work(_writer, tx);
                tx.Commit();
            }
            committed?.Invoke(result);
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Opens a read connection (pooled); the caller disposes it.</summary>
    public SqliteConnection OpenRead()
    {
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        return connection;
    }

    internal static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
    }
}
