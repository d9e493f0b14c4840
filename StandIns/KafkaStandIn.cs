using System.Net;
using System.Net.Sockets;
using AspireChat.Messaging.Log;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AspireChat.StandIns;

/// <summary>
/// The Kafka protocol from librdkafka's mock cluster (one broker, the pipeline's three topics). The mock listens on a
/// port of its own choosing, so a relay listens on the port the AppHost gave and forwards to it, and the broker
/// advertises the AppHost's endpoint, the address clients connect through.
/// </summary>
public sealed partial class KafkaStandIn(IOptions<StandInsOptions> options, ILogger<KafkaStandIn> logger) : BackgroundService, IHealthCheck
{
    private KafkaMockCluster? _cluster;
    private TcpListener? _listener;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        _cluster = new KafkaMockCluster(settings.Partitions);
        _cluster.SetBrokerAddress(1, settings.KafkaAdvertisedHost, settings.KafkaAdvertisedPort > 0 ? settings.KafkaAdvertisedPort : settings.KafkaPort);
        _listener = new TcpListener(IPAddress.Loopback, settings.KafkaPort);
        _listener.Start();
        LogStarted(logger, settings.KafkaPort, _cluster.BootstrapServers);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var mock = DnsEndPointOf(_cluster!.BootstrapServers);
        try
        {
            while (true)
            {
                var client = await _listener!.AcceptTcpClientAsync(stoppingToken).ConfigureAwait(false);
                _ = RelayAsync(client, mock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task RelayAsync(TcpClient client, DnsEndPoint mock, CancellationToken stoppingToken)
    {
        using var _ = client;
        using var upstream = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(mock.Host, mock.Port, stoppingToken).ConfigureAwait(false);
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var up = client.GetStream().CopyToAsync(upstream.GetStream(), ended.Token);
            var down = upstream.GetStream().CopyToAsync(client.GetStream(), ended.Token);
            await Task.WhenAny(up, down).ConfigureAwait(false);
            await ended.CancelAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A connection ends when either side ends it.
        }
    }

    private static DnsEndPoint DnsEndPointOf(string bootstrap)
    {
        var first = bootstrap.Split(',')[0];
        var colon = first.LastIndexOf(':');
        return new DnsEndPoint(first[..colon], int.Parse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Stop();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _cluster?.Dispose();
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_cluster is null ? HealthCheckResult.Unhealthy("the mock cluster has not started") : HealthCheckResult.Healthy($"mock cluster on port {options.Value.KafkaPort}"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka stand-in on port {Port} (mock cluster at {Mock})")]
    private static partial void LogStarted(ILogger logger, int port, string mock);
}
