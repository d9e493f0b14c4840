using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>
/// Azure Event Hubs as the Kafka log in a published manifest (docs/deploy.md, "Azure Event Hubs profile"), selected by
/// <c>AspireChat:KafkaProfile=EventHubs</c>: the bootstrap servers are a secret connection-string parameter <c>kafka</c>
/// (<c>&lt;namespace&gt;.servicebus.windows.net:9093</c>), the SASL password — the namespace's connection string — the
/// secret parameter <c>kafka-sasl-password</c>, and every service that uses Kafka gets the client settings Event Hubs
/// needs: SASL_SSL with PLAIN (user <c>$ConnectionString</c>), a session of 30 s and requests of 60 s (its minimums),
/// requests under its 1 MB limit, and connections and metadata refreshed before its 240 s idle cut.
/// </summary>
internal static class EventHubsKafkaExtensions
{
    public const string Profile = "EventHubs";
    public const string SaslPasswordParameter = "kafka-sasl-password";

    /// <summary>Whether the AppHost's configuration selects the Event Hubs profile for Kafka.</summary>
    public static bool WantsEventHubsKafka(this IDistributedApplicationBuilder builder) =>
        string.Equals(builder.Configuration["AspireChat:KafkaProfile"], Profile, StringComparison.OrdinalIgnoreCase);

    /// <summary>The client settings of the profile, as environment variables of the services (<c>Kafka:*</c>, docs/configuration.md).</summary>
    public static readonly IReadOnlyDictionary<string, string> ClientSettings = new Dictionary<string, string>
    {
        ["Kafka__Settings__security.protocol"] = "SASL_SSL",
        ["Kafka__Settings__sasl.mechanism"] = "PLAIN",
        ["Kafka__Settings__sasl.username"] = "$ConnectionString",
        // Event Hubs closes a connection that sends a request over 1,046,528 bytes.
        ["Kafka__Settings__message.max.bytes"] = "1000000",
        ["Kafka__Settings__request.timeout.ms"] = "60000",
        // Azure closes inbound TCP connections idle for 240 s.
        ["Kafka__Settings__connections.max.idle.ms"] = "180000",
        ["Kafka__Settings__metadata.max.age.ms"] = "180000",
        ["Kafka__Settings__socket.keepalive.enable"] = "true",
        ["Kafka__SessionTimeout"] = "00:00:30",
        ["Kafka__HeartbeatInterval"] = "00:00:03",
    };

    public static BackingService AddEventHubsKafka(this IDistributedApplicationBuilder builder, string name)
    {
        var bootstrap = builder.AddConnectionString(name);
        var password = builder.AddParameter(SaslPasswordParameter, secret: true);
        return new BackingService(name, ReferenceExpression.Create($"{bootstrap.Resource}"), null, ClientSettings,
            new Dictionary<string, IResourceBuilder<ParameterResource>> { ["Kafka__Settings__sasl.password"] = password });
    }
}
