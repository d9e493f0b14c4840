using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Log;

/// <summary>
/// Registers the Kafka message log the way an Aspire client integration would (none is served for Kafka here):
/// bootstrap servers from a connection string, a health check, and metrics on the <c>AspireChat</c> meter.
/// </summary>
public static class KafkaLogExtensions
{
    /// <summary>Configuration section of <see cref="KafkaLogOptions"/> (partitions, timeouts, librdkafka settings).</summary>
    public const string Section = "Kafka";

    /// <summary>
    /// Adds <see cref="KafkaMessageLog"/> as <see cref="IMessageLog"/>, bootstrapping from <c>ConnectionStrings:{connectionName}</c>
    /// (<c>host:port[,host:port…]</c>), with a health check named after the connection (<see cref="KafkaLogHealthCheck"/>:
    /// the cluster's metadata, the producer's fatal flag, each consumer-group member's state). Nothing connects until the
    /// log is first used.
    /// </summary>
    public static IHostApplicationBuilder AddKafkaMessageLog(this IHostApplicationBuilder builder, string connectionName = "kafka")
    {
        var bootstrap = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(bootstrap))
            throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not set; it must name the Kafka bootstrap servers (host:port).");

        var services = builder.Services;
        services.Configure<KafkaLogOptions>(builder.Configuration.GetSection(Section));
        services.PostConfigure<KafkaLogOptions>(o => o.BootstrapServers = bootstrap);
        services.TryAddSingleton(sp => new KafkaMessageLog(sp.GetRequiredService<IOptions<KafkaLogOptions>>().Value, sp.GetRequiredService<ILogger<KafkaMessageLog>>(),
            sp.GetService<TimeProvider>(), sp.GetService<IHostApplicationLifetime>()));
        services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<KafkaMessageLog>());
        services.AddHealthChecks().Add(new HealthCheckRegistration(connectionName,
            sp => new KafkaLogHealthCheck(sp.GetRequiredService<KafkaMessageLog>()), failureStatus: null, tags: null, timeout: TimeSpan.FromSeconds(5)));
        return builder;
    }
}
