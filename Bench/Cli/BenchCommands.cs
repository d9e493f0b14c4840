using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Targets;
using AspireChat.Bench.Workloads;
using Spectre.Console;

namespace AspireChat.Bench.Cli;

/// <summary>The <c>bench</c> command line: one subcommand per workload, the options every run shares.</summary>
public static class BenchCommands
{
    private static readonly Option<string> Target = new("--target")
    {
        Description = "embedded = the Gateway in this process; process = the Gateway as a child process (its memory alone); url = a running server (--url)",
        HelpName = "embedded|process|url",
    };
    private static readonly Option<Uri?> Url = new("--url")
    {
        Description = "the server's HTTP base address for --target url, e.g. http://127.0.0.1:5080 (the AppHost's gateway endpoint works too)",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
            result.AddError($"--url '{text}' is not an http:// or https:// address");
            return null;
        },
    };
    private static readonly Option<string?> SigningKey = new("--signing-key") { Description = "the server's Auth:SigningKey, to mint tokens locally instead of calling POST /api/dev/token" };
    private static readonly Option<string[]> ServerSettings = new("--server-setting")
    {
        Description = "configuration for a server Bench starts, Key=Value (repeatable), e.g. Groups:WriteDiffusionLimit=500",
        AllowMultipleArgumentsPerToken = true,
        DefaultValueFactory = _ => [],
    };
    private static readonly Option<int?> Sources = new("--sources") { Description = "spread client connections over this many loopback source addresses (127.0.0.2 …); 0 = no binding" };
    private static readonly Option<int> BodyBytes = new("--body-bytes") { Description = "text carried in every message body", DefaultValueFactory = _ => 100 };
    private static readonly Option<string> Out = new("--out") { Description = "folder of the JSON result files", DefaultValueFactory = _ => "bench-results" };
    private static readonly Option<string> MarkdownPath = new("--markdown") { Description = "markdown file the run's section is appended to", DefaultValueFactory = _ => "docs/benchmarks.md" };
    private static readonly Option<bool> NoMarkdown = new("--no-markdown") { Description = "do not append to the markdown file" };
    private static readonly Option<bool> NoLive = new("--no-live") { Description = "print progress lines instead of the live view" };
    private static readonly Option<bool> Plot = new("--plot") { Description = "also write a latency-percentile plot (PNG) next to the JSON result" };

    private static readonly Option<TimeSpan> Duration = DurationOption("--duration", "measured time per phase", "10s");
    private static readonly Option<TimeSpan> Warmup = DurationOption("--warmup", "unmeasured load before each measured phase", "3s");
    private static readonly Option<TimeSpan> DrainTimeout = DurationOption("--drain-timeout", "longest wait for every ack and delivery after the senders stop", "30s");
    private static readonly Option<bool> Poisson = new("--poisson") { Description = "open loop: Poisson arrivals instead of a fixed interval" };
    private static readonly Option<string?> HubSynchronous = HubSynchronousOption();
    private static readonly Option<bool> MarkRead = new("--mark-read")
    {
        Description = "every AspireChat recipient also marks what it receives read (one read per conversation with each ack): reads and receipts under load",
    };

    public static RootCommand Create(string[] args)
    {
        var root = new RootCommand("AspireChat Bench: load workloads with a built-in delivery checker, the SignalR relay peer, and reports.");
        root.Add(OneToOne(args));
        root.Add(Group(args));
        root.Add(Soak(args));
        root.Add(CatchUp(args));
        root.Add(ConversationList(args));
        root.Add(Ids(args));
        root.Add(KafkaCommand.Create(args));
        root.Add(Redis(args));
        return root;
    }

    private static Command OneToOne(string[] args)
    {
        var pairs = new Option<int>("--pairs") { Description = "sender→recipient pairs", DefaultValueFactory = _ => 32 };
        var rate = new Option<string>("--rate")
        {
            Description = "auto = the maximum, then an open loop at half of it; max = closed loop; a number = open loop at that many msg/s in all",
            DefaultValueFactory = _ => "auto",
        };
        var window = new Option<int>("--window") { Description = "closed loop: messages per pair sent and not yet delivered", DefaultValueFactory = _ => 64 };
        var peers = PeersOption("signalr,raw,hub", [SystemKind.SignalRRelay, SystemKind.RawRelay, SystemKind.PersistingHub]);
        var operations = new Option<double>("--ops")
        {
            Description = "share of AspireChat's sends (0–1) that are message operations instead: an edit or a reaction on the sender's last acknowledged message",
            DefaultValueFactory = _ => 0,
        };
        operations.Validators.Add(result =>
        {
            if (result.GetValue(operations) is < 0 or > 1) result.AddError("--ops must be from 0 to 1");
        });
        var command = new Command("one-to-one", "pairs sending one-to-one: throughput at the maximum, latency at a fixed rate; AspireChat vs each peer")
        {
            pairs, rate, window, Poisson, Duration, Warmup, DrainTimeout, peers, HubSynchronous, MarkRead, operations,
        };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "embedded", (context, token) =>
        {
            var (fixedRate, auto) = ParseRate(parse.GetValue(rate)!);
            return OneToOneWorkload.RunAsync(context, new OneToOneOptions(parse.GetValue(pairs), fixedRate, auto, parse.GetValue(window), parse.GetValue(Poisson),
                Timings(parse), parse.GetValue(peers)!) { Operations = parse.GetValue(operations) }, token);
        }, ct));
        return command;
    }

    private static Command Group(string[] args)
    {
        var members = new Option<string>("--members") { Description = "group sizes, comma-separated", DefaultValueFactory = _ => "100,2000" };
        var senders = new Option<int>("--senders") { Description = "members sending to the group", DefaultValueFactory = _ => 2 };
        var rate = new Option<string>("--rate") { Description = "max = closed loop; a number = open loop at that many group messages/s in all", DefaultValueFactory = _ => "max" };
        var window = new Option<int>("--window") { Description = "closed loop: messages per sender not yet delivered to every member", DefaultValueFactory = _ => 4 };
        var peers = PeersOption("signalr", [SystemKind.SignalRRelay, SystemKind.PersistingHub]);
        var command = new Command("group", "group fan-out: write diffusion (100 members) and read diffusion (2,000 members); AspireChat vs the SignalR relay")
        {
            members, senders, rate, window, Poisson, Duration, Warmup, DrainTimeout, peers, HubSynchronous,
        };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "embedded", (context, token) =>
        {
            var (fixedRate, _) = ParseRate(parse.GetValue(rate)!);
            var sizes = parse.GetValue(members)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToList();
            return GroupWorkload.RunAsync(context, new GroupOptions(sizes, parse.GetValue(senders), fixedRate, parse.GetValue(window), parse.GetValue(Poisson),
                Timings(parse), parse.GetValue(peers)!), token);
        }, ct));
        return command;
    }

    private static Command Soak(string[] args)
    {
        var connections = new Option<int>("--connections") { Description = "idle authenticated connections to open and hold", DefaultValueFactory = _ => 20_000 };
        var hold = DurationOption("--hold", "how long to hold them", "60s");
        var parallel = new Option<int>("--parallel") { Description = "connections being opened at once", DefaultValueFactory = _ => 128 };
        var settle = DurationOption("--settle", "pause before each memory reading", "5s");
        var command = new Command("soak", "connection soak: N idle authenticated connections held for T; server memory per connection")
        {
            connections, hold, parallel, settle,
        };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "process", (context, token) =>
            SoakWorkload.RunAsync(context, new SoakOptions(parse.GetValue(connections), parse.GetValue(hold), parse.GetValue(parallel), parse.GetValue(settle)), token), ct,
            defaultSources: 4));
        return command;
    }

    private static Command ConversationList(string[] args)
    {
        var conversations = new Option<int>("--conversations") { Description = "conversations the listing user has", DefaultValueFactory = _ => 1_000 };
        var requests = new Option<int>("--requests") { Description = "first-page requests measured (one at a time)", DefaultValueFactory = _ => 500 };
        var limit = new Option<int>("--limit") { Description = "page size of the measured first page", DefaultValueFactory = _ => 50 };
        var command = new Command("conversations", "GET /api/conversations latency for a user with N conversations (first page, and the whole list paged)")
        {
            conversations, requests, limit,
        };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "embedded", (context, token) =>
            ConversationListWorkload.RunAsync(context, new ConversationListOptions(parse.GetValue(conversations), parse.GetValue(requests), parse.GetValue(limit)), token), ct));
        return command;
    }

    private static Command CatchUp(string[] args)
    {
        var messages = new Option<int>("--messages") { Description = "messages waiting in the offline inbox", DefaultValueFactory = _ => 10_000 };
        var runs = new Option<int>("--runs") { Description = "repetitions (each with a fresh user)", DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { Description = "raw = Bench's lean device, sdk = the Client SDK's ChatClient, both", DefaultValueFactory = _ => "both" };
        var timeout = DurationOption("--timeout", "longest wait for one catch-up", "60s");
        var command = new Command("catch-up", "offline catch-up: time until a device that comes online holds all N waiting messages")
        {
            messages, runs, device, timeout,
        };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "embedded", (context, token) =>
        {
            var which = parse.GetValue(device)!;
            return CatchUpWorkload.RunAsync(context, new CatchUpOptions(parse.GetValue(messages), parse.GetValue(runs), which is "raw" or "both", which is "sdk" or "both",
                parse.GetValue(timeout)), token);
        }, ct));
        return command;
    }

    private static Command Ids(string[] args)
    {
        var threads = new Option<string>("--threads") { Description = "thread counts, comma-separated", DefaultValueFactory = _ => $"1,{Environment.ProcessorCount}" };
        var batch = new Option<string>("--batch") { Description = "ids per call, comma-separated (1 = NextId)", DefaultValueFactory = _ => "1,4096" };
        var duration = DurationOption("--duration", "time per configuration", "3s");
        var command = new Command("ids", "IdService throughput: the in-process SnowflakeIdGenerator against Snowflake's 4,096,000 ids/s") { threads, batch, duration };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "none", (context, token) =>
            IdWorkload.RunAsync(context, new IdOptions(Ints(parse.GetValue(threads)!), Ints(parse.GetValue(batch)!), parse.GetValue(duration)), token), ct));
        return command;
    }

    private static Command Redis(string[] args)
    {
        var callers = new Option<string>("--callers") { Description = "concurrent callers, comma-separated", DefaultValueFactory = _ => "1,16" };
        var duration = DurationOption("--duration", "time per operation", "2s");
        var command = new Command("redis", "latency of the Redis presence and pending-ack operations, on Garnet in-process and on redis-server") { callers, duration };
        AddCommon(command);
        command.SetAction((parse, ct) => RunAsync(parse, args, "none", (context, token) =>
            RedisWorkload.RunAsync(context, new RedisOptions(Ints(parse.GetValue(callers)!), parse.GetValue(duration)), token), ct));
        return command;
    }

    private static void AddCommon(Command command)
    {
        foreach (var option in new Option[] { Target, Url, SigningKey, ServerSettings, Sources, BodyBytes, Out, MarkdownPath, NoMarkdown, NoLive, Plot })
            command.Add(option);
    }

    private static async Task<int> RunAsync(ParseResult parse, string[] args, string defaultTarget,
        Func<BenchContext, CancellationToken, Task<BenchResult>> workload, CancellationToken cancellationToken, int defaultSources = 0)
    {
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 180;
        var view = ProgressView.ForConsole(!parse.GetValue(NoLive));
        var sources = parse.GetValue(Sources) ?? defaultSources;
        var targetKind = parse.GetValue(Target) ?? defaultTarget;
        ChatTarget? target;
        try
        {
            target = await CreateTargetAsync(targetKind, parse, sources, view, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FileNotFoundException or TimeoutException or HttpRequestException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }

        BenchResult result;
        await using (var context = new BenchContext(target, view, sources, parse.GetValue(BodyBytes), "dotnet run -c Release --project Bench -- " + string.Join(' ', args))
        {
            HubSynchronous = parse.GetResult(HubSynchronous) is null ? null : parse.GetValue(HubSynchronous),
            MarkRead = parse.GetResult(MarkRead) is not null && parse.GetValue(MarkRead),
        })
        {
            result = await workload(context, cancellationToken).ConfigureAwait(false);
        }
        if (IsDebugBuild()) result.Notes.Insert(0, "Debug build: these figures are not representative (run with -c Release)");

        Reports.PrintSummary(result);
        var json = Reports.WriteJson(result, parse.GetValue(Out)!);
        AnsiConsole.MarkupLine($"[grey]result:[/] {Markup.Escape(json)}");
        if (parse.GetValue(Plot) && LatencyPlot.Write(result, parse.GetValue(Out)!) is { } png) AnsiConsole.MarkupLine($"[grey]plot:[/] {Markup.Escape(png)}");
        if (!parse.GetValue(NoMarkdown))
        {
            var markdown = parse.GetValue(MarkdownPath)!;
            Reports.AppendMarkdown(result, markdown);
            AnsiConsole.MarkupLine($"[grey]appended to:[/] {Markup.Escape(markdown)}");
        }
        return result.Passed ? 0 : 1;
    }

    private static async Task<ChatTarget?> CreateTargetAsync(string kind, ParseResult parse, int sources, ProgressView view, CancellationToken cancellationToken)
    {
        var settings = ParseSettings(parse.GetValue(ServerSettings) ?? []);
        switch (kind)
        {
            case "none":
                return null;
            case "embedded":
                view.Say("starting the embedded Gateway in this process …");
                return await EmbeddedTarget.StartAsync(settings, cancellationToken).ConfigureAwait(false);
            case "process":
                view.Say("starting the Gateway as a child process …");
                var process = await GatewayProcessTarget.StartAsync(settings, cancellationToken).ConfigureAwait(false);
                view.Say($"Gateway pid {process.ProcessId} at {process.HttpBase}");
                return process;
            case "url":
                var url = parse.GetValue(Url) ?? throw new ArgumentException("--target url needs --url");
                if (sources > 0 && !IsLoopback(url))
                    throw new ArgumentException("--sources binds loopback source addresses: the --url must be a loopback address (127.x.x.x)");
                return new UrlTarget(url, parse.GetValue(SigningKey));
            default:
                throw new ArgumentException($"unknown --target '{kind}': embedded, process or url");
        }
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (System.Net.IPAddress.TryParse(url.Host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    private static Dictionary<string, string> ParseSettings(IEnumerable<string> pairs)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0) throw new ArgumentException($"--server-setting '{pair}' is not Key=Value");
            settings[pair[..equals].Replace("__", ":", StringComparison.Ordinal)] = pair[(equals + 1)..];
        }
        return settings;
    }

    private static PhaseTimings Timings(ParseResult parse) => new(parse.GetValue(Warmup), parse.GetValue(Duration), parse.GetValue(DrainTimeout));

    private static Option<string?> HubSynchronousOption()
    {
        var option = new Option<string?>("--hub-synchronous")
        {
            Description = "the persisting hub's SQLite synchronous: off, normal (AspireChat's default), full, extra; unset = SQLite's default, as a team leaves it",
            HelpName = "off|normal|full|extra",
        };
        option.AcceptOnlyFromAmong("off", "normal", "full", "extra");
        return option;
    }

    private static readonly Dictionary<string, SystemKind> PeerNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["signalr"] = SystemKind.SignalRRelay,
        ["raw"] = SystemKind.RawRelay,
        ["hub"] = SystemKind.PersistingHub,
    };

    private static readonly Dictionary<string, string> PeerDescriptions = new()
    {
        ["signalr"] = "bare SignalR relay",
        ["raw"] = "raw WebSocket relay",
        ["hub"] = "persisting SignalR hub",
    };

    /// <summary><c>--peers</c> (alias <c>--peer</c>): the peers run beside AspireChat, comma-separated, among <paramref name="allowed"/>; <c>none</c> = AspireChat alone.</summary>
    private static Option<IReadOnlyList<SystemKind>> PeersOption(string defaultValue, SystemKind[] allowed)
    {
        var names = PeerNames.Where(p => allowed.Contains(p.Value)).Select(p => p.Key).ToList();
        return new Option<IReadOnlyList<SystemKind>>("--peers", "--peer")
        {
            Description = $"peers run beside AspireChat, comma-separated ({string.Join("; ", names.Select(n => $"{n} = the {PeerDescriptions[n]}"))}), or none",
            HelpName = string.Join(',', names) + "|none",
            DefaultValueFactory = _ => [.. defaultValue.Split(',').Select(n => PeerNames[n])],
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : defaultValue;
                var kinds = new List<SystemKind>();
                foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (name.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
                    if (PeerNames.TryGetValue(name, out var kind) && allowed.Contains(kind)) kinds.Add(kind);
                    else result.AddError($"--peers '{name}' is not one of {string.Join(", ", names)}, none");
                }
                return kinds;
            },
        };
    }

    private static (double? Rate, bool Auto) ParseRate(string value) => value switch
    {
        "auto" => (null, true),
        "max" => (null, false),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 => (rate, false),
        _ => throw new ArgumentException($"--rate '{value}': auto, max or a positive number"),
    };

    private static List<int> Ints(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    private static Option<TimeSpan> DurationOption(string name, string description, string defaultValue) => new(name)
    {
        Description = $"{description} (500ms, 10s, 2m; a bare number is seconds)",
        DefaultValueFactory = _ => ParseDuration(defaultValue)!.Value,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : defaultValue;
            if (ParseDuration(text) is { } span) return span;
            result.AddError($"{name} '{text}' is not a duration (500ms, 10s, 2m)");
            return default;
        },
    };

    public static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0)
                return TimeSpan.FromSeconds(value * seconds);
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare) && bare >= 0 ? TimeSpan.FromSeconds(bare) : null;
    }

    private static bool IsDebugBuild() =>
        typeof(BenchCommands).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true;
}
