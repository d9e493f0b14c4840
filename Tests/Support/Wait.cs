using System.Diagnostics;
using System.Threading.Channels;

namespace AspireChat.Tests.Support;

/// <summary>
/// The tests' one way to wait: for a condition, a task or a value, with a deadline instead of sleeping and hoping.
/// Deadlines are measured on a <see cref="Stopwatch"/> (monotonic; the wall clock may jump). Absence is not waited
/// for here: it is proven by an event that must come after (<see cref="TestSocket.ExpectBeforeAsync"/>).
/// </summary>
internal static class Wait
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    // Polls start fast (most conditions hold within milliseconds) and slow down to this, so a long wait on a
    // child process or an HTTP endpoint does not spin on a shared machine.
    private static readonly TimeSpan SlowestPoll = TimeSpan.FromMilliseconds(20);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Like <see cref="UntilAsync(Func{bool}, string, TimeSpan?)"/> for a condition that has to ask something asynchronously.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        await ForValueAsync(async () => await condition() ? true : (bool?)null, what, timeout);

    /// <summary>
    /// Polls <paramref name="probe"/> until it returns a value, and returns it; fails the test at the deadline.
    /// An exception from the probe ends the wait (e.g. a child process that exited will never answer).
    /// </summary>
    public static async Task<T> ForValueAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null) where T : struct
    {
        var clock = Stopwatch.StartNew();
        var poll = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            if (await probe() is { } value) return value;
            if (clock.Elapsed > (timeout ?? Deadline)) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(poll);
            poll = Min(poll * 2, SlowestPoll);
        }
    }

    /// <summary>Like <see cref="ForValueAsync{T}(Func{Task{T?}}, string, TimeSpan?)"/> for a probe that answers a reference or null.</summary>
    public static async Task<T> ForObjectAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null) where T : class
    {
        T? found = null;
        await UntilAsync(async () => (found = await probe()) is not null, what, timeout);
        return found!;
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

    public static async Task ForAsync(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}");
            throw;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
