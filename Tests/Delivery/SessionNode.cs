using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Presence;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// A gateway node without a gateway: the pipeline's real ports (RocksDB store in a temporary folder, in-memory pending acks
/// and presence) and the <see cref="DeviceSessions"/> of one node, with sessions on <see cref="RecordingTransport"/>s.
/// Nothing runs in the background: inbox entries are written to the store and routed by the test.
/// </summary>
internal sealed class SessionNode : IAsyncDisposable
{
    private readonly string _folder;
    private readonly ServiceProvider _services;
    private long _nextId;

    private SessionNode(ServiceProvider services, string folder) => (_services, _folder) = (services, folder);

    public static async Task<SessionNode> StartAsync(int window = 1000, Func<IPendingAcks, IPendingAcks>? pending = null, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var folder = Path.Combine(Path.GetTempPath(), "aspirechat-session-" + Guid.NewGuid().ToString("n"));
        builder.Configuration["Storage:Path"] = folder;
        builder.Configuration["Delivery:Window"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Services.AddLogging();
        if (time is not null) builder.Services.AddSingleton(time);
        if (pending is not null) builder.Services.AddSingleton<IPendingAcks>(pending(new InMemoryPendingAcks()));
        builder.AddEmbeddedChat();
        builder.Services.AddSingleton<ITokenValidator, UserNameTokens>();
        builder.Services.AddDeviceSessions(_ => "node-1");
        var services = builder.Services.BuildServiceProvider();
        var node = new SessionNode(services, folder);
        await node.Store.InitializeAsync();
        await services.GetRequiredService<Messaging.Groups.IGroupStore>().InitializeAsync();
        return node;
    }

    public IChatStore Store => _services.GetRequiredService<IChatStore>();
    public DeviceRegistry Registry => _services.GetRequiredService<DeviceRegistry>();
    public IPresenceStore Presence => _services.GetRequiredService<IPresenceStore>();
    public IPendingAcks Pending => _services.GetRequiredService<IPendingAcks>();
    public CursorRecorder Cursors => _services.GetRequiredService<CursorRecorder>();

    /// <summary>A session on a new transport, awaiting its hello.</summary>
    public (DeviceSession Session, RecordingTransport Transport) Connect()
    {
        var transport = new RecordingTransport();
        var session = _services.GetRequiredService<DeviceSessions>().Create(transport);
        transport.Session = session;
        return (session, transport);
    }

    /// <summary>Connects and says hello for <paramref name="user"/>'s <paramref name="device"/>.</summary>
    public async Task<(DeviceSession Session, RecordingTransport Transport)> WelcomeAsync(string user, string device = "phone", long? cursor = null)
    {
        var (session, transport) = Connect();
        Assert.True(await session.HelloAsync(user, new HelloFrame { Token = "t", Device = device, Cursor = cursor }));
        return (session, transport);
    }

    /// <summary>Writes <paramref name="count"/> messages from zed into <paramref name="user"/>'s inbox (stage 1 and 2's store writes, nothing routed).</summary>
    public async Task<IReadOnlyList<InboxEntry>> AppendAsync(string user, int count)
    {
        var accepted = Enumerable.Range(0, count).Select(i =>
        {
            var id = Interlocked.Increment(ref _nextId);
            using var body = JsonDocument.Parse(JsonSerializer.Serialize(new { text = $"m{id}" }));
            return new MessageAccepted(id, $"s:{user}:zed", 0, "zed", "d", id, user, 1, body.RootElement.Clone(), null, 1_700_000_000_000 + id);
        }).ToList();
        var messages = await Store.AppendMessagesAsync(accepted);
        return await Store.AppendInboxAsync([.. messages.Select(m => new InboxAppend(user, m))]);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}

/// <summary>Tokens for tests: a token is the user id it names.</summary>
internal sealed class UserNameTokens : ITokenValidator
{
    public ValueTask<string?> ValidateAsync(string token, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Identifiers.IsValidId(token) ? token : null);
}

/// <summary>A transport that records the frames a session writes and how it was closed.</summary>
internal sealed class RecordingTransport : IDeviceTransport
{
    private readonly ConcurrentQueue<JsonElement> _frames = new();

    public DeviceSession? Session { get; set; }

    public (int Code, string Reason)? ClosedWith { get; private set; }

    /// <summary>The frames as written, byte for byte.</summary>
    public ConcurrentQueue<byte[]> Raw { get; } = new();

    public bool TryWrite(byte[] frame)
    {
        if (ClosedWith is not null) return false;
        Raw.Enqueue(frame);
        using var document = JsonDocument.Parse(frame);
        _frames.Enqueue(document.RootElement.Clone());
        return true;
    }

    public void Close(int code, string reason)
    {
        ClosedWith ??= (code, reason);
        Session?.MarkClosed();
    }

    public IReadOnlyList<JsonElement> Frames => [.. _frames];

    /// <summary>The <c>seq</c> of every <c>msg</c> frame written, in the order written.</summary>
    public IReadOnlyList<long> Seqs => [.. _frames.Where(f => f.GetProperty("t").GetString() == "msg").Select(f => f.GetProperty("seq").GetInt64())];
}
