using System.Diagnostics;
using AspireChat.Bench.Measuring;
using AspireChat.Bench.Reporting;
using AspireChat.Messaging.Ids;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the id throughput workload.</summary>
/// <param name="Batches">Ids per call: 1 = <c>NextId()</c>, more = <c>NextIds(span)</c>.</param>
public sealed record IdOptions(IReadOnlyList<int> Threads, IReadOnlyList<int> Batches, TimeSpan Duration);

/// <summary>
/// The in-process <see cref="SnowflakeIdGenerator"/> of one worker, as fast as threads can call it. Every id issued
/// is kept and checked: strictly ascending per thread, no duplicate overall. The ceiling is Snowflake's own:
/// 4,096 ids per millisecond per worker = 4,096,000/s.
/// </summary>
public static class IdWorkload
{
    public const double SnowflakeLimit = 4_096_000;
    public const double TargetShare = 0.90;

    public static Task<BenchResult> RunAsync(BenchContext context, IdOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("ids");
        foreach (var threads in options.Threads)
        {
            foreach (var batch in options.Batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                context.View.Say($"ids: {threads} thread(s), {(batch == 1 ? "NextId()" : $"NextIds({batch})")}, {options.Duration.TotalSeconds:N0} s");
                result.Phases.Add(Measure(threads, batch, options.Duration));
                GC.Collect();
            }
        }
        var best = result.Phases.Max(p => p.Figures["ids/s"]);
        result.Targets.Add(new("IdService in-process (best of the configurations)", $"≥ {TargetShare:P0} of 4,096,000 ids/s = {SnowflakeLimit * TargetShare:N0}",
            $"{best:N0} ids/s ({best / SnowflakeLimit:P1})", best >= SnowflakeLimit * TargetShare));
        result.Notes.Add("IdService over loopback: skipped — IdService/Program.cs maps only the ServiceDefaults health endpoints; it has no id endpoint to call yet.");
        if (result.Phases.Any(p => p.Figures["duplicates"] > 0 || p.Figures["out of order"] > 0))
            result.Errors.Add("the generator issued duplicate or non-ascending ids");
        return Task.FromResult(result);
    }

    private static PhaseResult Measure(int threads, int batch, TimeSpan duration)
    {
        var generator = new SnowflakeIdGenerator(new SnowflakeOptions { WorkerId = 1 }, TimeProvider.System);
        // Room for every id the worker can issue in the run, whichever thread gets them.
        var capacity = (int)Math.Min(Array.MaxLength - batch, SnowflakeLimit * (duration.TotalSeconds + 1)) + batch;
        var issued = new long[threads][];
        var counts = new int[threads];
        var ready = new Barrier(threads + 1);
        long deadline = 0;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var ids = issued[t] = new long[capacity];
            ids.AsSpan().Fill(0); // touch the pages before the clock starts
            ready.SignalAndWait();
            var n = 0;
            var end = Volatile.Read(ref deadline);
            if (batch == 1)
            {
                while (n + 256 <= ids.Length)
                {
                    for (var i = 0; i < 256; i++) ids[n++] = generator.NextId();
                    if (Stopwatch.GetTimestamp() >= end) break;
                }
            }
            else
            {
                while (n + batch <= ids.Length)
                {
                    generator.NextIds(ids.AsSpan(n, batch));
                    n += batch;
                    if (Stopwatch.GetTimestamp() >= end) break;
                }
            }
            counts[t] = n;
        }) { IsBackground = true, Name = $"ids-{t}" }).ToList();
        foreach (var worker in workers) worker.Start();

        var probe = new ResourceProbe(null);
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        var resourcesAtStart = probe.Take();
        clock.Restart();
        ready.SignalAndWait();
        foreach (var worker in workers) worker.Join();
        var seconds = clock.Elapsed.TotalSeconds;
        var resources = ResourceProbe.Between(resourcesAtStart, probe.Take());

        long total = counts.Sum(c => (long)c);
        long outOfOrder = 0;
        for (var t = 0; t < threads; t++)
        {
            for (var i = 1; i < counts[t]; i++) if (issued[t][i] <= issued[t][i - 1]) outOfOrder++;
        }
        var all = new long[total];
        var offset = 0;
        for (var t = 0; t < threads; t++)
        {
            Array.Copy(issued[t], 0, all, offset, counts[t]);
            offset += counts[t];
        }
        Array.Sort(all);
        long duplicates = 0;
        for (var i = 1; i < all.Length; i++) if (all[i] == all[i - 1]) duplicates++;

        var phase = new PhaseResult
        {
            System = "SnowflakeIdGenerator",
            Phase = $"{threads} thread(s), {(batch == 1 ? "NextId()" : $"NextIds({batch})")}",
            Clients = threads,
            Seconds = seconds,
        };
        phase.Figures["ids"] = total;
        phase.Figures["ids/s"] = Math.Round(total / seconds);
        phase.Figures["share of 4,096,000/s"] = Math.Round(total / seconds / SnowflakeLimit, 4);
        phase.Figures["duplicates"] = duplicates;
        phase.Figures["out of order"] = outOfOrder;
        foreach (var key in new[] { "CPU: Bench process (cores)", "CPU: other processes (cores)" })
            if (resources.TryGetValue(key, out var value)) phase.Figures[key] = value;
        return phase;
    }
}
