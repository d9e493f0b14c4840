using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Workloads;
using Spectre.Console;

namespace AspireChat.Bench.Cli;

/// <summary>
/// <c>bench kafka</c>: the Kafka message log on librdkafka's mock cluster (no server to load, so none of the target
/// options); and its hidden <c>member</c> subcommand, a consumer-group member that journals what it handled, for tests
/// that kill it with SIGKILL.
/// </summary>
public static class KafkaCommand
{
    public static Command Create(string[] args)
    {
        var partitions = new Option<int>("--partitions") { Description = "partitions of each topic", DefaultValueFactory = _ => 12 };
        var records = new Option<int>("--records") { Description = "records appended per throughput phase", DefaultValueFactory = _ => 200_000 };
        var batch = new Option<string>("--batch") { Description = "records per append, comma-separated (one phase each)", DefaultValueFactory = _ => "1,64,512" };
        var appenders = new Option<int>("--appenders") { Description = "appends in flight at once", DefaultValueFactory = _ => 4 };
        var rate = new Option<double>("--rate") { Description = "records/s of the produce→consume latency phase", DefaultValueFactory = _ => 2_000 };
        var duration = new Option<string>("--duration") { Description = "length of the latency phase (500ms, 10s, 2m)", DefaultValueFactory = _ => "10s" };
        var bodyBytes = new Option<int>("--body-bytes") { Description = "text carried in every record's body", DefaultValueFactory = _ => 100 };
        var output = new Option<string>("--out") { Description = "folder of the JSON result files", DefaultValueFactory = _ => "bench-results" };
        var markdown = new Option<string>("--markdown") { Description = "markdown file the run's section is appended to", DefaultValueFactory = _ => "docs/benchmarks.md" };
        var noMarkdown = new Option<bool>("--no-markdown") { Description = "do not append to the markdown file" };
        var settings = new Option<string[]>("--setting")
        {
            Description = "a librdkafka property for the log's clients, key=value (repeatable), e.g. fetch.wait.max.ms=10",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        var command = new Command("kafka", "Kafka message log on librdkafka's mock cluster: produce throughput (acks=all), drain rate, produce→consume latency")
        {
            partitions, records, batch, appenders, rate, duration, bodyBytes, settings, output, markdown, noMarkdown,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 180;
            var length = BenchCommands.ParseDuration(parse.GetValue(duration)!) ?? throw new ArgumentException("--duration is not a duration (500ms, 10s, 2m)");
            var options = new KafkaBenchOptions(parse.GetValue(partitions), parse.GetValue(records),
                [.. parse.GetValue(batch)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
                parse.GetValue(appenders), parse.GetValue(rate), length, parse.GetValue(bodyBytes), Settings(parse.GetValue(settings) ?? []));
            BenchResult result;
            await using (var context = new BenchContext(null, ProgressView.ForConsole(false), command: "dotnet run -c Release --project Bench -- " + string.Join(' ', args)))
            {
                result = await KafkaLogWorkload.RunAsync(context, options, ct).ConfigureAwait(false);
            }
            if (typeof(KafkaCommand).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
                result.Notes.Insert(0, "Debug build: these figures are not representative (run with -c Release)");
            Reports.PrintSummary(result);
            AnsiConsole.MarkupLine($"[grey]result:[/] {Markup.Escape(Reports.WriteJson(result, parse.GetValue(output)!))}");
            if (!parse.GetValue(noMarkdown))
            {
                Reports.AppendMarkdown(result, parse.GetValue(markdown)!);
                AnsiConsole.MarkupLine($"[grey]appended to:[/] {Markup.Escape(parse.GetValue(markdown)!)}");
            }
            return result.Passed ? 0 : 1;
        });
        command.Add(Member());
        return command;
    }

    private static Dictionary<string, string> Settings(string[] pairs)
    {
        var settings = new Dictionary<string, string>();
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0) throw new ArgumentException($"--setting '{pair}' is not key=value");
            settings[pair[..equals]] = pair[(equals + 1)..];
        }
        return settings;
    }

    private static Command Member()
    {
        var bootstrap = new Option<string>("--bootstrap") { Description = "bootstrap servers", Required = true };
        var topic = new Option<string>("--topic") { Description = "topic of MessageAccepted records", Required = true };
        var group = new Option<string>("--group") { Description = "consumer group", Required = true };
        var journal = new Option<string>("--journal") { Description = "file that gets one 'conv id' line per handled record", Required = true };
        var perRecord = new Option<int>("--per-record-ms") { Description = "time the handler takes per record", DefaultValueFactory = _ => 0 };
        var partitions = new Option<int>("--partitions") { Description = "partitions the topic has (the log refuses another count)", DefaultValueFactory = _ => 12 };
        var command = new Command("member", "one consumer-group member journaling what it handles (for kill -9 tests)")
        {
            bootstrap, topic, group, journal, perRecord, partitions,
        };
        command.Hidden = true;
        command.SetAction((parse, ct) => KafkaLogWorkload.RunMemberAsync(parse.GetValue(bootstrap)!, parse.GetValue(topic)!, parse.GetValue(group)!,
            parse.GetValue(journal)!, TimeSpan.FromMilliseconds(parse.GetValue(perRecord)), parse.GetValue(partitions), ct));
        return command;
    }
}
