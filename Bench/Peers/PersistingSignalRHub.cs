using System.Data.Common;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Bench.Peers;

/// <summary>
/// The peer a .NET team builds by default: a SignalR hub whose <c>Send</c> saves the message with EF Core on
/// SQLite — a scoped <see cref="ChatDbContext"/> per hub invocation, one <c>SaveChangesAsync</c> per message — and
/// then forwards it like the bare relay. Hosted by Bench on loopback (Kestrel 127.0.0.1:0); the database is a file
/// in a temporary folder, in WAL mode, deleted on dispose. SQLite's <c>synchronous</c> stays what the team gets
/// unless asked (<c>--hub-synchronous normal</c> is AspireChat's own default: no fsync per commit).
/// </summary>
public sealed class PersistingSignalRHub : IAsyncDisposable
{
    private const string DatabaseFile = "chat.db";
    private readonly WebApplication _app;
    private readonly string _folder;

    private PersistingSignalRHub(WebApplication app, Uri hubUri, string folder, string durability) =>
        (_app, HubUri, _folder, Durability) = (app, hubUri, folder, durability);

    /// <summary>The SQLite file (in a temporary folder of its own, deleted on dispose).</summary>
    public string DatabasePath => Path.Combine(_folder, DatabaseFile);

    /// <summary>The hub endpoint; clients name themselves with <c>?user=</c>.</summary>
    public Uri HubUri { get; }

    /// <summary>How the database commits, as SQLite reports it on a connection EF Core opens (<c>journal_mode=wal, synchronous=…</c>).</summary>
    public string Durability { get; }

    /// <summary>Messages saved so far (read back from the database).</summary>
    public async Task<int> StoredMessagesAsync(CancellationToken cancellationToken = default)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ChatDbContext>().Messages.CountAsync(cancellationToken).ConfigureAwait(false);
    }

    public static Task<PersistingSignalRHub> StartAsync(CancellationToken cancellationToken = default) => StartAsync(null, cancellationToken);

    /// <param name="synchronous">SQLite's <c>PRAGMA synchronous</c> for every connection (off, normal, full, extra); null leaves SQLite's default.</param>
    public static async Task<PersistingSignalRHub> StartAsync(string? synchronous, CancellationToken cancellationToken = default)
    {
        if (synchronous is not null && synchronous.ToUpperInvariant() is not ("OFF" or "NORMAL" or "FULL" or "EXTRA"))
            throw new ArgumentException($"SQLite synchronous '{synchronous}': off, normal, full or extra", nameof(synchronous));
        var folder = Path.Combine(Path.GetTempPath(), $"aspirechat-bench-hub-{Guid.NewGuid():n}");
        Directory.CreateDirectory(folder);
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxConcurrentConnections = null);
        builder.Services.AddSignalR(options => options.MaximumReceiveMessageSize = 64 * 1024);
        builder.Services.AddSingleton<RelayDirectory>();
        builder.Services.AddDbContext<ChatDbContext>(options =>
        {
            options.UseSqlite($"Data Source={Path.Combine(folder, DatabaseFile)}");
            // A per-connection setting: the way EF Core sets one is an interceptor on every open.
            if (synchronous is not null) options.AddInterceptors(new SynchronousPragma(synchronous.ToUpperInvariant()));
        });
        var app = builder.Build();
        string durability;
        try
        {
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
                await db.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
                // WAL is a property of the file: set once, every later connection writes ahead.
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
            }
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
                var journal = await db.Database.SqlQueryRaw<string>("PRAGMA journal_mode").ToListAsync(cancellationToken).ConfigureAwait(false);
                var level = await db.Database.SqlQueryRaw<int>("PRAGMA synchronous").ToListAsync(cancellationToken).ConfigureAwait(false);
                durability = $"journal_mode={journal.Single()}, synchronous={level.Single() switch { 0 => "OFF", 1 => "NORMAL", 2 => "FULL", 3 => "EXTRA", var n => n.ToString(System.Globalization.CultureInfo.InvariantCulture) }}";
            }
            app.UseWebSockets();
            app.MapHub<PersistingHub>("/chat");
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            DeleteFolder(folder);
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new PersistingSignalRHub(app, new Uri(new Uri(address), "/chat"), folder, durability);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        // Pooled connections hold the file open.
        SqliteConnection.ClearAllPools();
        DeleteFolder(_folder);
    }

    private static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Sets <c>PRAGMA synchronous</c> on each connection EF Core opens.</summary>
internal sealed class SynchronousPragma(string mode) : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA synchronous={mode}";
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA synchronous={mode}";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The team's database: one table of messages.</summary>
internal sealed class ChatDbContext(DbContextOptions<ChatDbContext> options) : DbContext(options)
{
    public DbSet<StoredMessage> Messages => Set<StoredMessage>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        // A conversation's history is read newest first: the one index a chat table needs.
        modelBuilder.Entity<StoredMessage>().HasIndex(m => new { m.Conversation, m.Id });
}

/// <summary>A saved message.</summary>
internal sealed class StoredMessage
{
    public long Id { get; set; }
    public required string Conversation { get; set; }
    public required string From { get; set; }
    public required string To { get; set; }
    public long Req { get; set; }
    public required string Text { get; set; }
    public DateTime SentAt { get; set; }
}

/// <summary>The persisting hub: save, then forward (to one user, or to a SignalR group).</summary>
internal sealed class PersistingHub(RelayDirectory directory, ChatDbContext db) : DirectoryHub(directory)
{
    public async Task Send(string to, long req, int sender, string text)
    {
        await SaveAsync(Identifiers.OneToOneConversation(User, to), to, req, text).ConfigureAwait(false);
        await ForwardAsync(to, req, sender, text).ConfigureAwait(false);
    }

    public async Task SendGroup(string group, long req, int sender, string text)
    {
        await SaveAsync(Identifiers.GroupConversation(group), group, req, text).ConfigureAwait(false);
        await ForwardToGroupAsync(group, req, sender, text).ConfigureAwait(false);
    }

    private Task SaveAsync(string conversation, string to, long req, string text)
    {
        db.Messages.Add(new StoredMessage { Conversation = conversation, From = User, To = to, Req = req, Text = text, SentAt = DateTime.UtcNow });
        return db.SaveChangesAsync();
    }
}
