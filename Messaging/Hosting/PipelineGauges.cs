using AspireChat.Messaging.Delivery;
using Microsoft.Extensions.Hosting;

namespace AspireChat.Messaging.Hosting;

/// <summary>Registers this process's observable pipeline gauges (pending-ack depth) while the host runs.</summary>
public sealed class PipelineGauges(IPendingAcks pending) : IHostedService
{
    private IDisposable? _pending;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pending = ChatTelemetry.ObservePendingAcks(pending);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _pending?.Dispose();
        return Task.CompletedTask;
    }
}
