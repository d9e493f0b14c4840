using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AspireChat.ServiceDefaults;

/// <summary>Adds the defaults every AspireChat host shares: telemetry, health checks, service discovery and resilience.</summary>
public static class Extensions
{
    /// <summary>
    /// Name of the <see cref="System.Diagnostics.ActivitySource"/> and
    /// <see cref="System.Diagnostics.Metrics.Meter"/> the messaging pipeline reports through,
    /// so one trace follows a message across every hop (docs/configuration.md).
    /// </summary>
    public const string TelemetryName = "AspireChat";

    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    /// <summary>Adds OpenTelemetry, the default health checks, service discovery and the standard HTTP resilience handler.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>Adds OpenTelemetry logging, metrics and tracing; exports over OTLP when an endpoint is configured.</summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(TelemetryName);
            });
        // Spans nobody receives are not worth making: a host with no OTLP endpoint traces nothing unless a sampler is
        // chosen (OTEL_TRACES_SAMPLER, e.g. always_on with an exporter of one's own). Not even the SDK's listener is
        // registered: with it, an always-off sampler still has every root span made (unrecorded, to carry its trace id)
        // — one per message and per stage batch. Recorded and dropped, the message traces cost the embedded gateway
        // about 40 % of its throughput (decision 0021).
        if (HasOtlpEndpoint(builder) || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_TRACES_SAMPLER"]))
        {
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName)
                    .AddSource(TelemetryName)
                    // Probes hit these every few seconds; their spans would drown the message traces.
                    .AddAspNetCoreInstrumentation(aspNetCore =>
                        aspNetCore.Filter = context =>
                            !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                            && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                    .AddHttpClientInstrumentation();
            });
        }

        builder.AddOpenTelemetryExporters();

        return builder;
    }

    private static bool HasOtlpEndpoint(IHostApplicationBuilder builder) => !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // Aspire sets the endpoint for every resource it runs; a host started on its own exports nothing.
        var useOtlpExporter = HasOtlpEndpoint(builder);

        if (useOtlpExporter)
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Adds the <c>self</c> liveness check; hosts add checks for their backing services beside it.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);

        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (every check must pass: ready for traffic) and <c>/alive</c>
    /// (only checks tagged <c>live</c>: the process responds).
    /// </summary>
    /// <remarks>
    /// Mapped in every environment, unlike the Aspire template, because the design makes them
    /// part of the HTTP API: orchestrators and load balancers probe them in production too.
    /// They reveal no more than healthy or not.
    /// </remarks>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath);

        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        });

        return app;
    }
}
