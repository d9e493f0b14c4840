using System.Diagnostics;
using Spectre.Console;

namespace AspireChat.Bench.Reporting;

/// <summary>
/// Shows a running phase: a live Spectre.Console table on a terminal, a line every few seconds when the output is
/// redirected, nothing at all for tests.
/// </summary>
public sealed class ProgressView
{
    private readonly Mode _mode;

    private ProgressView(Mode mode) => _mode = mode;

    private enum Mode { Live, Lines, Silent }

    /// <summary>Live when the console is an interactive terminal (and not refused), lines otherwise.</summary>
    public static ProgressView ForConsole(bool allowLive) =>
        new(allowLive && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected ? Mode.Live : Mode.Lines);

    public static ProgressView Silent { get; } = new(Mode.Silent);

    /// <summary>Says something between phases.</summary>
    public void Say(string text)
    {
        if (_mode != Mode.Silent) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
    }

    /// <summary>Shows <paramref name="read"/> until <paramref name="work"/> completes, then awaits it.</summary>
    public async Task WatchAsync(string title, Func<IReadOnlyList<(string Name, string Value)>> read, Task work)
    {
        switch (_mode)
        {
            case Mode.Live:
                var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title)).AddColumn("").AddColumn(new TableColumn("").RightAligned());
                await AnsiConsole.Live(table).AutoClear(false).StartAsync(async live =>
                {
                    while (true)
                    {
                        Fill(table, read());
                        live.Refresh();
                        if (work.IsCompleted) break;
                        await Task.WhenAny(work, Task.Delay(250)).ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
                break;
            case Mode.Lines:
                var every = Stopwatch.StartNew();
                while (!work.IsCompleted)
                {
                    await Task.WhenAny(work, Task.Delay(250)).ConfigureAwait(false);
                    if (every.Elapsed < TimeSpan.FromSeconds(3) && !work.IsCompleted) continue;
                    every.Restart();
                    Console.WriteLine($"{title}: {string.Join(", ", read().Select(r => $"{r.Name} {r.Value}"))}");
                }
                break;
        }
        await work.ConfigureAwait(false);
    }

    private static void Fill(Table table, IReadOnlyList<(string Name, string Value)> rows)
    {
        table.Rows.Clear();
        foreach (var (name, value) in rows) table.AddRow(Markup.Escape(name), Markup.Escape(value));
    }
}
