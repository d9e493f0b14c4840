using System.Diagnostics;

namespace AspireChat.Tests.Support;

/// <summary>
/// A Kafka consumer-group member as a child process (<c>AspireChat.Bench kafka member</c>) that appends <c>conv id</c>
/// to a journal file for every record it handles, so a test can kill -9 it mid-batch and see what it had done.
/// </summary>
public sealed class KafkaMemberProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _output;

    private KafkaMemberProcess(Process process, string journal, StreamWriter output) => (_process, Journal, _output) = (process, journal, output);

    public string Journal { get; }

    public static KafkaMemberProcess Start(string bootstrap, string topic, string group, string journal, int perRecordMs, int partitions)
    {
        var benchDll = Path.Combine(AppContext.BaseDirectory, "AspireChat.Bench.dll");
        var info = new ProcessStartInfo("dotnet",
            [benchDll, "kafka", "member", "--bootstrap", bootstrap, "--topic", topic, "--group", group, "--journal", journal, "--per-record-ms", perRecordMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info)!;
        // The member's own log (assignments, revocations, commit failures), beside its journal for whoever debugs a failure.
        var output = new StreamWriter(journal + ".log", append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new KafkaMemberProcess(process, journal, output);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The (conv, id) lines journaled so far; a line cut by a kill is left out.</summary>
    public List<(string Conv, long Id)> Handled()
    {
        if (!File.Exists(Journal)) return [];
        using var stream = new FileStream(Journal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(stream).ReadToEnd();
        var lines = text.Split('\n');
        // The last element is what follows the last newline: empty, or a line still being written.
        return [.. lines.Take(lines.Length - 1).Select(l => l.Split(' ')).Select(p => (p[0], long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is committed on the way out, the group hears nothing.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        // WaitForExit without a timeout also waits until the redirected output has been read to its end.
        _process.WaitForExit();
        lock (_output) _output.Dispose();
        _process.Dispose();
    }
}
