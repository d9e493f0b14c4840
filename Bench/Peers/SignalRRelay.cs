using System.Collections.Concurrent;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Bench.Peers;

/// <summary>
/// The peer AspireChat is measured against: a bare SignalR relay hosted by Bench on loopback (Kestrel
/// 127.0.0.1:0). It forwards A→B, or to every member of a group, as it receives — no persistence, no ids, no
/// ordering beyond the socket's, no acks. What it costs is the floor of "a message over a WebSocket server".
/// </summary>
public sealed class SignalRRelay : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SignalRRelay(WebApplication app, Uri hubUri) => (_app, HubUri) = (app, hubUri);

    /// <summary>The hub endpoint; clients name themselves with <c>?user=</c>.</summary>
    public Uri HubUri { get; }

    public static async Task<SignalRRelay> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxConcurrentConnections = null);
        builder.Services.AddSignalR(options => options.MaximumReceiveMessageSize = 64 * 1024);
        builder.Services.AddSingleton<RelayDirectory>();
        var app = builder.Build();
        app.UseWebSockets();
        app.MapHub<RelayHub>("/relay");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new SignalRRelay(app, new Uri(new Uri(address), "/relay"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>User → connection id, so a forward is one dictionary lookup (SignalR's <c>Clients.User</c> scans every connection).</summary>
internal sealed class RelayDirectory
{
    public ConcurrentDictionary<string, string> Connections { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// What both SignalR peers share: users are known by <c>?user=</c>, a message to a user is forwarded through the
/// directory, a message to a group through a SignalR group. Only what happens before the forward differs.
/// </summary>
internal abstract class DirectoryHub(RelayDirectory directory) : Hub
{
    /// <summary>The client method every forwarded message arrives as.</summary>
    public const string Message = "msg";

    protected string User => Context.GetHttpContext()?.Request.Query["user"].ToString() ?? "";

    public override Task OnConnectedAsync()
    {
        directory.Connections[User] = Context.ConnectionId;
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        directory.Connections.TryRemove(new KeyValuePair<string, string>(User, Context.ConnectionId));
        return Task.CompletedTask;
    }

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    protected Task ForwardAsync(string to, long req, int sender, string text) =>
        directory.Connections.TryGetValue(to, out var connection)
            ? Clients.Client(connection).SendAsync(Message, User, to, Ope.OneToOne, req, sender, text)
            : Task.CompletedTask;

    protected Task ForwardToGroupAsync(string group, long req, int sender, string text) =>
        Clients.Group(group).SendAsync(Message, User, group, Ope.Group, req, sender, text);
}

/// <summary>The bare relay hub: <c>Send</c> forwards to one user, <c>SendGroup</c> to a SignalR group, <c>Join</c> enters one.</summary>
internal sealed class RelayHub(RelayDirectory directory) : DirectoryHub(directory)
{
    public Task Send(string to, long req, int sender, string text) => ForwardAsync(to, req, sender, text);

    public Task SendGroup(string group, long req, int sender, string text) => ForwardToGroupAsync(group, req, sender, text);
}
