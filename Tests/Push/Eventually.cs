using System.Diagnostics;

namespace AspireChat.Tests.Push;

/// <summary>Waits for asynchronous conditions with a deadline instead of sleeping.</summary>
internal static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(15))) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }
}
