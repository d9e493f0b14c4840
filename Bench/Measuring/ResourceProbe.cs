using System.Diagnostics;
using System.Globalization;

namespace AspireChat.Bench.Measuring;

/// <summary>
/// Where the CPU went during a measured window: the whole machine (<c>/proc/stat</c>), Bench's own process, the
/// server process when it is a separate one, everything else (other work on a shared machine), and Bench's GCs.
/// The evidence a report needs when a figure falls short: a saturated CPU, a busy neighbour, GC pauses.
/// </summary>
public sealed class ResourceProbe(int? serverProcessId)
{
    public Snapshot Take()
    {
        using var self = Process.GetCurrentProcess();
        var (busy, total) = MachineTicks();
        return new Snapshot(Stopwatch.GetTimestamp(), self.TotalProcessorTime, serverProcessId is { } pid ? ProcessCpu(pid) : null, busy, total,
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
    }

    /// <summary>The figures between two snapshots, in cores (1.0 = one core busy all the window).</summary>
    public static Dictionary<string, double> Between(Snapshot start, Snapshot end)
    {
        var seconds = Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp).TotalSeconds;
        var figures = new Dictionary<string, double>();
        if (seconds <= 0) return figures;
        var cores = Environment.ProcessorCount;
        var own = (end.OwnCpu - start.OwnCpu).TotalSeconds / seconds;
        var server = end.ServerCpu is { } e && start.ServerCpu is { } s ? (e - s).TotalSeconds / seconds : (double?)null;
        figures["CPU: Bench process (cores)"] = Math.Round(own, 2);
        if (server is { } serverCores) figures["CPU: server process (cores)"] = Math.Round(serverCores, 2);
        if (end.MachineTotalTicks > start.MachineTotalTicks)
        {
            var machine = (double)(end.MachineBusyTicks - start.MachineBusyTicks) / (end.MachineTotalTicks - start.MachineTotalTicks) * cores;
            figures[$"CPU: whole machine (cores of {cores})"] = Math.Round(machine, 2);
            figures["CPU: other processes (cores)"] = Math.Round(Math.Max(0, machine - own - (server ?? 0)), 2);
        }
        figures["GC: Bench process gen0 collections"] = end.Gen0 - start.Gen0;
        figures["GC: Bench process gen1 collections"] = end.Gen1 - start.Gen1;
        figures["GC: Bench process gen2 collections"] = end.Gen2 - start.Gen2;
        figures["GC: Bench process pause (% of time)"] = Math.Round((end.GcPause - start.GcPause).TotalSeconds / seconds * 100, 2);
        return figures;
    }

    private static (long Busy, long Total) MachineTicks()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = fields.Take(8).Sum(); // user nice system idle iowait irq softirq steal
            var idle = fields[3] + fields[4];
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return (0, 0);
        }
    }

    /// <summary>utime + stime of another process, from <c>/proc/&lt;pid&gt;/stat</c> (clock ticks of 1/100 s).</summary>
    private static TimeSpan? ProcessCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    public sealed record Snapshot(long Timestamp, TimeSpan OwnCpu, TimeSpan? ServerCpu, long MachineBusyTicks, long MachineTotalTicks,
        int Gen0, int Gen1, int Gen2, TimeSpan GcPause);
}
