using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using MongoDB.Driver.Core.Configuration;
using MongoDB.Driver.Core.Events;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// One client span per MongoDB command on the <c>AspireChat</c> activity source, built from the driver's
/// command events, so store calls appear inside the message's trace (docs/configuration.md).
/// </summary>
internal sealed class MongoCommandTracing
{
    // The handshake and authentication conversation is noise in a message trace (and its payload is secret).
    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase)
    {
        "hello", "isMaster", "saslStart", "saslContinue", "getnonce", "authenticate", "buildInfo", "endSessions",
    };

    // Request ids come from one process-wide counter in the driver, so they identify a command.
    private readonly ConcurrentDictionary<int, Activity> _running = new();

    /// <summary>Subscribes to the command events of the client being built.</summary>
    public static void Subscribe(ClusterBuilder cluster)
    {
        var tracing = new MongoCommandTracing();
        cluster.Subscribe<CommandStartedEvent>(tracing.OnStarted);
        cluster.Subscribe<CommandSucceededEvent>(e => tracing.OnFinished(e.RequestId, null));
        cluster.Subscribe<CommandFailedEvent>(e => tracing.OnFinished(e.RequestId, e.Failure));
    }

    private void OnStarted(CommandStartedEvent e)
    {
        if (Ignored.Contains(e.CommandName) || !ChatTelemetry.Source.HasListeners()) return;
        // Most commands name their collection as the command's value; getMore names it in "collection".
        var collection = e.Command.TryGetValue(e.CommandName, out var target) && target.IsString ? target.AsString
            : e.Command.TryGetValue("collection", out target) && target.IsString ? target.AsString : null;

        // The event fires inside the driver's async flow; the span must not become the parent of
        // whatever that flow does next, so Activity.Current is put back at once.
        var previous = Activity.Current;
        var activity = ChatTelemetry.Source.StartActivity(collection is null ? e.CommandName : $"{e.CommandName} {collection}", ActivityKind.Client);
        Activity.Current = previous;
        if (activity is null) return;

        activity.SetTag("db.system.name", "mongodb");
        activity.SetTag("db.namespace", e.DatabaseNamespace?.DatabaseName);
        activity.SetTag("db.operation.name", e.CommandName);
        if (collection is not null) activity.SetTag("db.collection.name", collection);
        switch (e.ConnectionId?.ServerId.EndPoint)
        {
            case DnsEndPoint dns:
                activity.SetTag("server.address", dns.Host);
                activity.SetTag("server.port", dns.Port);
                break;
            case IPEndPoint ip:
                activity.SetTag("server.address", ip.Address.ToString());
                activity.SetTag("server.port", ip.Port);
                break;
        }
        if (!_running.TryAdd(e.RequestId, activity)) activity.Stop();
    }

    private void OnFinished(int requestId, Exception? failure)
    {
        if (!_running.TryRemove(requestId, out var activity)) return;
        if (failure is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure.Message);
            activity.SetTag("error.type", failure is MongoDB.Driver.MongoCommandException command ? command.Code.ToString(System.Globalization.CultureInfo.InvariantCulture) : failure.GetType().FullName);
        }
        // Stop() restores Activity.Current only when the span is current; make it so, then put back the caller's.
        var previous = Activity.Current;
        Activity.Current = activity;
        activity.Stop();
        Activity.Current = previous;
    }
}
