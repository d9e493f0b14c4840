using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Log;

/// <summary>A record of the contract's own topics: <see cref="N"/> counts up per key in append order.</summary>
public sealed record LogTestRecord(string Key, int N);

[JsonSerializable(typeof(LogTestRecord))]
internal sealed partial class LogTestJson : JsonSerializerContext;

/// <summary>
/// The <see cref="IMessageLog"/> contract (decision 0009, docs/data-model.md, README.md): every adapter runs these same tests. Each test uses a
/// topic and consumer group of its own, so tests may share the subclass's log.
/// </summary>
public abstract class MessageLogContract
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];

    /// <summary>The log under test, shared by the class's tests.</summary>
    protected abstract IMessageLog Log { get; }

    /// <summary>A topic no other test uses, ready for appends and consumers (created where the adapter needs that).</summary>
    protected abstract Task<LogTopic<LogTestRecord>> NewTopicAsync();

    protected string Group(string name) => $"{name}.{_run}";

    protected static List<LogTestRecord> Records(string key, int from, int count) =>
        [.. Enumerable.Range(from, count).Select(n => new LogTestRecord(key, n))];

    /// <summary>Every record the handler returned for, in the order handled, per key.</summary>
    protected sealed class Handled
    {
        private readonly ConcurrentDictionary<string, List<int>> _byKey = new();
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add(IReadOnlyList<LogTestRecord> batch)
        {
            foreach (var record in batch)
            {
                var list = _byKey.GetOrAdd(record.Key, _ => []);
                lock (list) list.Add(record.N);
            }
            Interlocked.Add(ref _count, batch.Count);
        }

        public List<int> Of(string key)
        {
            var list = _byKey.GetOrAdd(key, _ => []);
            lock (list) return [.. list];
        }
    }

    /// <summary>A consumer running until the returned handle is disposed (cancelled and awaited).</summary>
    protected async Task<RunningConsumer> StartConsumerAsync(LogTopic<LogTestRecord> topic, string group, LogBatchHandler<LogTestRecord> handler)
    {
        var stop = new CancellationTokenSource();
        var run = Log.ConsumeAsync(topic, group, handler, stop.Token);
        await Task.Yield();
        return new RunningConsumer(stop, run);
    }

    protected sealed class RunningConsumer(CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            stop.Dispose();
        }
    }

    [SkippableFact]
    public async Task Appended_records_are_consumed_in_append_order_per_key()
    {
        var topic = await NewTopicAsync();
        var keys = new[] { "a", "b", "c" };
        // Interleaved keys in each append, as the accept stage's batches mix conversations.
        for (var round = 0; round < 4; round++)
            await Log.AppendAsync(topic, [.. Enumerable.Range(0, 5).SelectMany(i => keys.Select(k => new LogTestRecord(k, round * 5 + i)))]);

        var handled = new Handled();
        await using (await StartConsumerAsync(topic, Group("order"), (batch, _) => { handled.Add(batch); return ValueTask.CompletedTask; }))
            await Wait.UntilAsync(() => handled.Count >= 60, "all 60 records are handled", TimeSpan.FromSeconds(30));

        foreach (var key in keys) Assert.Equal(Enumerable.Range(0, 20), handled.Of(key));
    }

    [SkippableFact]
    public async Task Records_of_one_key_stay_in_order_across_many_appends_made_while_consuming()
    {
        var topic = await NewTopicAsync();
        var handled = new Handled();
        await using (await StartConsumerAsync(topic, Group("many"), (batch, _) => { handled.Add(batch); return ValueTask.CompletedTask; }))
        {
            var n = new Dictionary<string, int> { ["x"] = 0, ["y"] = 0 };
            for (var append = 0; append < 150; append++)
            {
                var key = append % 3 == 0 ? "y" : "x";
                var count = 1 + append % 3;
                await Log.AppendAsync(topic, Records(key, n[key], count));
                n[key] += count;
            }
            await Wait.UntilAsync(() => handled.Count >= n["x"] + n["y"], "every appended record is handled", TimeSpan.FromSeconds(30));
            Assert.Equal(Enumerable.Range(0, n["x"]), handled.Of("x"));
            Assert.Equal(Enumerable.Range(0, n["y"]), handled.Of("y"));
        }
    }

    [SkippableFact]
    public async Task A_handler_that_throws_gets_the_same_batch_again_and_nothing_is_skipped()
    {
        var topic = await NewTopicAsync();
        await Log.AppendAsync(topic, Records("k", 0, 10));

        var handed = new ConcurrentQueue<int[]>();
        var failures = 0;
        var handled = new Handled();
        await using (await StartConsumerAsync(topic, Group("retry"), (batch, _) =>
        {
            handed.Enqueue([.. batch.Select(r => r.N)]);
            if (batch.Any(r => r.N == 0) && Interlocked.Increment(ref failures) <= 2) throw new InvalidOperationException("the store is down");
            handled.Add(batch);
            return ValueTask.CompletedTask;
        }))
        {
            await Wait.UntilAsync(() => handled.Count >= 10, "the records are handled after the failures", TimeSpan.FromSeconds(30));
        }

        var batches = handed.ToArray();
        Assert.True(batches.Length >= 3);
        Assert.Equal(batches[0], batches[1]);
        Assert.Equal(batches[0], batches[2]);
        Assert.Equal(Enumerable.Range(0, 10), handled.Of("k"));
    }

    [SkippableFact]
    public async Task A_new_consumer_in_the_group_continues_from_the_committed_position_and_gets_what_was_not_committed_again()
    {
        var topic = await NewTopicAsync();
        var group = Group("resume");
        await Log.AppendAsync(topic, Records("k", 0, 10));

        // The first member handles 0–9 and stops: all of it is committed.
        var first = new Handled();
        await using (await StartConsumerAsync(topic, group, (batch, _) => { first.Add(batch); return ValueTask.CompletedTask; }))
            await Wait.UntilAsync(() => first.Count >= 10, "the first member handles 0–9", TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 10), first.Of("k"));

        // The second member resumes at 10; it handles batches until one reaches 15, whose handler never returns.
        await Log.AppendAsync(topic, Records("k", 10, 10));
        var second = new Handled();
        var stuck = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (await StartConsumerAsync(topic, group, async (batch, ct) =>
        {
            if (batch[^1].N >= 15)
            {
                stuck.TrySetResult(batch[0].N);
                await Task.Delay(Timeout.Infinite, ct);
            }
            second.Add(batch);
        }))
        {
            await Wait.ForAsync(stuck.Task, "the second member's handler to reach record 15");
        }
        var firstUncommitted = await stuck.Task;
        Assert.Equal(Enumerable.Range(10, firstUncommitted - 10), second.Of("k"));

        // The third member gets the batch that was never committed again, and the rest.
        var third = new Handled();
        await using (await StartConsumerAsync(topic, group, (batch, _) => { third.Add(batch); return ValueTask.CompletedTask; }))
            await Wait.UntilAsync(() => third.Of("k").LastOrDefault() == 19, "the third member handles up to 19", TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(firstUncommitted, 20 - firstUncommitted), third.Of("k"));
    }
}
