namespace AspireChat.Messaging.Hosting;

/// <summary>A pass that runs every interval until the host stops; a failed pass is reported and the next one runs.</summary>
internal static class PeriodicLoop
{
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Func<CancellationToken, ValueTask> pass, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await pass(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    failed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
