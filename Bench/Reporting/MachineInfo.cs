using System.Runtime.InteropServices;

namespace AspireChat.Bench.Reporting;

/// <summary>The machine a run was measured on: what a reader needs to compare figures.</summary>
public sealed record MachineInfo
{
    public int Processors { get; init; }
    public long MemoryBytes { get; init; }
    public string CpuModel { get; init; } = "";
    public string Dotnet { get; init; } = "";
    public string Os { get; init; } = "";
    /// <summary><c>/proc/loadavg</c> when the run started: other work on a shared machine shows here.</summary>
    public string LoadAverage { get; init; } = "";
    public bool ServerGc { get; init; }
    public long OpenFilesLimit { get; init; }

    public static MachineInfo Read() => new()
    {
        Processors = Environment.ProcessorCount,
        MemoryBytes = MemTotal(),
        CpuModel = CpuModelName(),
        Dotnet = RuntimeInformation.FrameworkDescription,
        Os = RuntimeInformation.OSDescription,
        LoadAverage = string.Join(' ', (TryRead("/proc/loadavg") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3)),
        ServerGc = System.Runtime.GCSettings.IsServerGC,
        OpenFilesLimit = OpenFiles(),
    };

    public string MemoryDescription => MemoryBytes > 0 ? $"{MemoryBytes / (1024.0 * 1024 * 1024):N1} GiB" : "unknown";

    private static long MemTotal()
    {
        foreach (var line in TryRead("/proc/meminfo")?.Split('\n') ?? [])
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    private static string CpuModelName()
    {
        foreach (var line in TryRead("/proc/cpuinfo")?.Split('\n') ?? [])
        {
            if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The soft RLIMIT_NOFILE of this process (the connection soak's ceiling); -1 when unknown.</summary>
    public static long OpenFiles()
    {
        foreach (var line in TryRead("/proc/self/limits")?.Split('\n') ?? [])
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.TryParse(parts[0], out var soft) ? soft : -1;
        }
        return -1;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
