using Garnet;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AspireChat.StandIns;

/// <summary>The Redis protocol from Garnet in this process, with Lua on (the Redis adapters' atomic steps are scripts).</summary>
public sealed class RedisStandIn(IOptions<StandInsOptions> options) : IHostedService, IHealthCheck, IDisposable
{
    private GarnetServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var port = options.Value.RedisPort;
        _server = new GarnetServer(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua",
            "--memory", "256m", "--index", "16m", "--logger-level", "Warning"]);
        _server.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_server is null ? HealthCheckResult.Unhealthy("Garnet has not started") : HealthCheckResult.Healthy($"Garnet on port {options.Value.RedisPort}"));

    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }
}
