using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireChat.Bench.Measuring;
using Spectre.Console;

namespace AspireChat.Bench.Reporting;

/// <summary>The three outputs of a run: the console summary, the JSON result file, the markdown section.</summary>
public static class Reports
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Prints the summary; every violation kind with its first cases, in red.</summary>
    public static void PrintSummary(BenchResult result)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(result.Workload)}[/] · {Markup.Escape(result.Target)}").LeftJustified());
        var messagePhases = result.Phases.Where(p => p.SendToDeliver is not null).ToList();
        if (messagePhases.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "system", "phase", "pacing", "delivered/s", "acked/s", "p50 deliver", "p99 deliver", "p99.9 deliver", "max deliver", "p99 ack", "check" })
                table.AddColumn(column);
            foreach (var p in messagePhases)
            {
                table.AddRow(Markup.Escape(p.System), Markup.Escape(p.Phase), Markup.Escape(p.Pacing ?? ""), Number(p.DeliveredPerSecond),
                    p.SendToAck is null ? "n/a" : Number(p.AckedPerSecond), Ms(p.SendToDeliver?.P50Ms), Ms(p.SendToDeliver?.P99Ms), Ms(p.SendToDeliver?.P999Ms),
                    Ms(p.SendToDeliver?.MaxMs), p.SendToAck is null ? "n/a" : Ms(p.SendToAck.P99Ms), Verdict(p));
            }
            AnsiConsole.Write(table);
        }
        foreach (var group in FigureGroups(result))
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("figure");
            foreach (var p in group) table.AddColumn(new TableColumn(Markup.Escape($"{p.System} · {p.Phase}")).RightAligned());
            foreach (var name in group[0].Figures.Keys) table.AddRow([Markup.Escape(name), .. group.Select(p => Number(p.Figures[name]))]);
            if (group.Any(p => p.Check is not null)) table.AddRow(["checker", .. group.Select(Verdict)]);
            AnsiConsole.Write(table);
        }
        if (result.Comparisons.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("AspireChat ÷ each peer")
                .AddColumn("measure").AddColumn("peer").AddColumn(new TableColumn("AspireChat").RightAligned()).AddColumn(new TableColumn("peer's").RightAligned())
                .AddColumn(new TableColumn("AspireChat ÷ peer").RightAligned());
            foreach (var c in result.Comparisons)
                table.AddRow(Markup.Escape(c.Measure), Markup.Escape(c.PeerName), Number(c.AspireChat), Number(c.Peer), $"[bold]{c.Ratio:N2}×[/]");
            AnsiConsole.Write(table);
        }
        if (result.Targets.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("docs/benchmarks.md targets").AddColumn("measure").AddColumn("target").AddColumn("measured").AddColumn("");
            foreach (var t in result.Targets)
                table.AddRow(Markup.Escape(t.Measure), Markup.Escape(t.Target), Markup.Escape(t.Measured), t.Met ? "[green]met[/]" : "[red]missed[/]");
            AnsiConsole.Write(table);
        }
        foreach (var note in result.Notes.Concat(result.Phases.SelectMany(p => p.Notes.Select(n => $"{p.System} · {p.Phase}: {n}"))))
            AnsiConsole.MarkupLine($"[grey]note:[/] {Markup.Escape(note)}");
        foreach (var p in result.Phases.Where(p => p.Check is { Passed: false }))
        {
            AnsiConsole.MarkupLine($"[red bold]{p.Check!.Violations} violation(s)[/] in {Markup.Escape(p.System)} · {Markup.Escape(p.Phase)}: " +
                Markup.Escape(string.Join(", ", p.Check.ByKind.Select(k => $"{k.Value} {k.Key}"))));
            foreach (var line in p.Check.First) AnsiConsole.MarkupLine($"  [red]{Markup.Escape(line)}[/]");
        }
        foreach (var error in result.Errors) AnsiConsole.MarkupLine($"[red bold]error:[/] {Markup.Escape(error)}");
        AnsiConsole.MarkupLine(result.Passed ? "[green]checker: every promise held[/]" : "[red bold]checker: FAILED[/]");
    }

    /// <summary>Writes <c>{directory}/{time}-{workload}.json</c>; returns its path.</summary>
    public static string WriteJson(BenchResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{result.StartedUtc:yyyyMMdd-HHmmss}-{result.Workload}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(result, BenchJson.Default.BenchResult));
        return path;
    }

    /// <summary>Appends the run's section to the markdown file (created when missing).</summary>
    public static void AppendMarkdown(BenchResult result, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var exists = File.Exists(path);
        var md = new StringBuilder();
        if (!exists) md.AppendLine("# AspireChat benchmarks").AppendLine().AppendLine("Sections below are appended by `Bench` runs (newest last).").AppendLine();
        else if (!File.ReadAllText(path).EndsWith("\n\n", StringComparison.Ordinal)) md.AppendLine();
        md.Append(Markdown(result));
        File.AppendAllText(path, md.ToString());
    }

    public static string Markdown(BenchResult result)
    {
        var md = new StringBuilder();
        var m = result.Machine;
        md.AppendLine(Invariant, $"### {result.Workload} — {result.StartedUtc:yyyy-MM-dd HH:mm} UTC").AppendLine();
        md.AppendLine(Invariant, $"`{result.Command}`").AppendLine();
        md.AppendLine(Invariant, $"Machine: `nproc` {m.Processors}, {m.MemoryDescription}, {m.CpuModel}, {m.Dotnet}, {(m.ServerGc ? "Server" : "Workstation")} GC; " +
            $"load average at start {m.LoadAverage}. Target: {result.Target}.").AppendLine();

        var messagePhases = result.Phases.Where(p => p.SendToDeliver is not null).ToList();
        if (messagePhases.Count > 0)
        {
            md.AppendLine("| system | phase | pacing | delivered/s | acked/s | send→deliver p50 / p99 / p99.9 / max (ms) | send→ack p99 (ms) | checker |");
            md.AppendLine("|---|---|---|---:|---:|---:|---:|---|");
            foreach (var p in messagePhases)
            {
                var d = p.SendToDeliver!;
                md.AppendLine(Invariant, $"| {p.System} | {p.Phase} | {p.Pacing} | {p.DeliveredPerSecond:N0} | {(p.SendToAck is null ? "n/a" : p.AckedPerSecond.ToString("N0", Invariant))} | " +
                    $"{d.P50Ms:N2} / {d.P99Ms:N2} / {d.P999Ms:N2} / {d.MaxMs:N2} | {(p.SendToAck is null ? "n/a" : p.SendToAck.P99Ms.ToString("N2", Invariant))} | {Plain(p)} |");
            }
            if (messagePhases.Any(p => p.SendToLastRecipient is { Count: > 0 }))
            {
                md.AppendLine().AppendLine("Fan-out, send→last member (ms): " + string.Join("; ", messagePhases.Where(p => p.SendToLastRecipient is { Count: > 0 })
                    .Select(p => string.Create(Invariant, $"{p.System} {p.Phase} p50 {p.SendToLastRecipient!.P50Ms:N2}, p99 {p.SendToLastRecipient.P99Ms:N2}"))));
            }
            md.AppendLine();
        }
        foreach (var group in FigureGroups(result))
        {
            md.AppendLine("| | " + string.Join(" | ", group.Select(p => $"{p.System} · {p.Phase}")) + " |");
            md.AppendLine("|---|" + string.Concat(group.Select(_ => "---:|")));
            foreach (var name in group[0].Figures.Keys) md.AppendLine($"| {name} | " + string.Join(" | ", group.Select(p => Number(p.Figures[name]))) + " |");
            if (group.Any(p => p.Check is not null)) md.AppendLine("| checker | " + string.Join(" | ", group.Select(Plain)) + " |");
            md.AppendLine();
        }
        if (result.Comparisons.Count > 0)
        {
            md.AppendLine("| measure | peer | AspireChat | peer's | AspireChat ÷ peer |").AppendLine("|---|---|---:|---:|---:|");
            foreach (var c in result.Comparisons)
                md.AppendLine(Invariant, $"| {c.Measure} ({c.Unit}) | {c.PeerName} | {Number(c.AspireChat)} | {Number(c.Peer)} | **{c.Ratio:N2}×** |");
            md.AppendLine();
        }
        if (result.Targets.Count > 0)
        {
            md.AppendLine("| docs/benchmarks.md target | target | measured | |").AppendLine("|---|---|---|---|");
            foreach (var t in result.Targets) md.AppendLine(Invariant, $"| {t.Measure} | {t.Target} | {t.Measured} | {(t.Met ? "met" : "**missed**")} |");
            md.AppendLine();
        }
        var notes = result.Notes.Concat(result.Phases.SelectMany(p => p.Notes.Select(n => $"{p.System} · {p.Phase}: {n}"))).ToList();
        foreach (var p in result.Phases.Where(p => p.Check is { Passed: false }))
            notes.Add($"**{p.Check!.Violations} checker violation(s)** in {p.System} · {p.Phase}: {string.Join("; ", p.Check.First.Take(5))}");
        notes.AddRange(result.Errors.Select(e => $"**error:** {e}"));
        foreach (var note in notes) md.AppendLine("- " + note);
        if (notes.Count > 0) md.AppendLine();
        return md.ToString();
    }

    /// <summary>Phases with figures, those with the same figure names together (one column each).</summary>
    private static List<List<PhaseResult>> FigureGroups(BenchResult result) =>
        [.. result.Phases.Where(p => p.Figures.Count > 0).GroupBy(p => string.Join('\n', p.Figures.Keys)).Select(g => g.ToList())];

    private static string Plain(PhaseResult p) => p.Check is null ? "" : p.Check.Passed
        ? string.Create(Invariant, $"passed ({p.Check.Counts.DeliveredAsExpected:N0} deliveries checked)")
        : string.Create(Invariant, $"**{p.Check.Violations} violations** ({string.Join(", ", p.Check.ByKind.Select(k => $"{k.Value} {k.Key}"))})");

    private static string Verdict(PhaseResult p) => p.Check is null ? "" : p.Check.Passed
        ? $"[green]passed[/] ({p.Check.Counts.DeliveredAsExpected:N0})"
        : $"[red]{p.Check.Violations} violations[/]";

    private static string Number(double value) =>
        value.ToString(value == Math.Floor(value) || Math.Abs(value) >= 100 ? "N0" : Math.Abs(value) < 10 ? "N3" : "N2", Invariant);

    private static string Ms(double? value) => value is { } v ? v.ToString("N2", Invariant) + " ms" : "";
}
