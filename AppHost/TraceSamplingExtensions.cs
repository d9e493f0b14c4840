namespace AspireChat.AppHost;

/// <summary>How much of each message's trace a service records (docs/configuration.md, "Traces and metrics").</summary>
internal static class TraceSamplingExtensions
{
    /// <summary>The share of messages a deployment traces unless <c>Telemetry:TraceSampleRatio</c> says otherwise.</summary>
    public const string DefaultDeployedRatio = "0.01";

    /// <summary>
    /// F5 traces every message to the dashboard (the SDK's default, <c>parentbased_always_on</c>). A published manifest
    /// samples instead: <c>OTEL_TRACES_SAMPLER=parentbased_traceidratio</c> at <c>Telemetry:TraceSampleRatio</c>
    /// (default 1 %), so a deployment does not pay a trace per message; an unsampled message records no span at any hop,
    /// since every later span follows its root's decision (its root spans are still made, unrecorded, to carry the
    /// trace id: OpenTelemetry's propagation-only activities). Under F5 the ratio applies only when given
    /// (<c>--Telemetry:TraceSampleRatio=0</c> runs the topology without traces, as Bench's "tracing off" figures do).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithTraceSampling(this IResourceBuilder<ProjectResource> service)
    {
        var given = service.ApplicationBuilder.Configuration["Telemetry:TraceSampleRatio"];
        if (!service.ApplicationBuilder.ExecutionContext.IsPublishMode && given is null) return service;
        var ratio = given ?? DefaultDeployedRatio;
        return service
            .WithEnvironment("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
            .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", ratio);
    }
}
