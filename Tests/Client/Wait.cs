using System.Diagnostics;
using System.Threading.Channels;

namespace AspireChat.Tests.Client;

/// <summary>Waits for conditions with a deadline instead of sleeping and hoping.</summary>
internal static class Wait
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        if (!await TryUntilAsync(condition, timeout ?? Deadline)) Assert.Fail($"timed out waiting until {what}");
    }

    /// <summary>Like <see cref="UntilAsync(Func{bool}, string, TimeSpan?)"/> for a condition that has to ask something asynchronously.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > (timeout ?? Deadline)) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>False when the condition did not hold within <paramref name="window"/>.</summary>
    public static async Task<bool> TryUntilAsync(Func<bool> condition, TimeSpan window)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > window) return false;
            await Task.Delay(5);
        }
        return true;
    }

    public static async Task<T> ReadAsync<T>(ChannelReader<T> reader, string what)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            return await reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out waiting for {what}");
            throw;
        }
    }

    public static async Task<T> ForAsync<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}");
            throw;
        }
    }
}
