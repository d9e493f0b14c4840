using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// The long-running loops of a host's stages (log consumers, retry, purge), watched together: they run until the host
/// stops, so one that ends before — a consumer that gave up, a log that failed — leaves the process without a stage it
/// is there for. Then the host is stopped (the process exits and whatever runs it starts it again, while the other
/// replicas take over its partitions), rather than go on with <c>/health</c> green and nothing consumed.
/// </summary>
internal static partial class StageLoops
{
    public static async Task WatchAsync(IReadOnlyList<(string Name, Task Loop)> loops, IHostApplicationLifetime lifetime, ILogger logger, CancellationToken stoppingToken)
    {
        var ended = await Task.WhenAny(loops.Select(l => l.Loop)).ConfigureAwait(false);
        var reported = !stoppingToken.IsCancellationRequested;
        if (reported)
        {
            var name = loops.First(l => l.Loop == ended).Name;
            LogStageEnded(logger, ended.Exception?.GetBaseException(), name);
            lifetime.StopApplication();
        }
        try
        {
            // The others end as the host stops them.
            await Task.WhenAll(loops.Select(l => l.Loop)).ConfigureAwait(false);
        }
        catch (Exception) when (reported || stoppingToken.IsCancellationRequested)
        {
            // Reported above, or the host is stopping anyway.
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The {Stage} loop ended while the host was running; stopping the host")]
    private static partial void LogStageEnded(ILogger logger, Exception? exception, string stage);
}
