namespace AspireChat.Tests.Storage;

/// <summary>
/// A one-shot pause an engine's adapter awaits between reading conversation index rows and writing them back
/// (<see cref="AtAsync"/>): once <see cref="Hold"/> arms it, the next writer to get there stops until <see cref="Release"/>,
/// so a test can let a second writer act in between. Unarmed, it lets every writer through.
/// </summary>
public sealed class IndexWritePause
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;

    /// <summary>Completes when a writer stopped here.</summary>
    public Task Reached => _reached.Task;

    /// <summary>Stops the next writer that gets here.</summary>
    public void Hold() => Volatile.Write(ref _armed, 1);

    /// <summary>Lets the stopped writer (and every later one) go on.</summary>
    public void Release() => _released.TrySetResult();

    /// <summary>What the adapter awaits between its read and its write.</summary>
    public async Task AtAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 0) return;
        _reached.TrySetResult();
        await _released.Task.WaitAsync(cancellationToken);
    }
}
