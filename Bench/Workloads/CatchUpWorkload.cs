using System.Diagnostics;
using AspireChat.Bench.Checking;
using AspireChat.Bench.Measuring;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Transport;
using AspireChat.Client;
using AspireChat.Protocol;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the offline catch-up workload.</summary>
/// <param name="Raw">Measure Bench's lean device (cumulative ack every 100 messages).</param>
/// <param name="Sdk">Measure the Client SDK's <see cref="ChatClient"/> (what an application runs).</param>
public sealed record CatchUpOptions(int Messages, int Runs, bool Raw, bool Sdk, TimeSpan Timeout);

/// <summary>
/// Offline catch-up: a sender puts N messages into an offline user's inbox; once the inbox holds them all, a device
/// of that user connects with cursor 0 and the clock runs from opening the socket until the device holds seq 1…N.
/// The server pushes the backlog in windows of <c>Delivery:Window</c> as the device acknowledges.
/// </summary>
public static class CatchUpWorkload
{
    private const double TargetSeconds = 1.0;

    public static async Task<BenchResult> RunAsync(BenchContext context, CatchUpOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("catch-up");
        var checker = new DeliveryChecker();
        var raw = new List<double>();
        var sdk = new List<double>();
        var others = new List<double>();
        var probe = new ResourceProbe(context.Target is Targets.GatewayProcessTarget process ? process.ProcessId : null);
        for (var run = 1; run <= options.Runs; run++)
        {
            var sender = $"{context.RunId}-cu{run}-s";
            var recipient = $"{context.RunId}-cu{run}-r";
            List<DeviceKey> expected = [new(sender, AspireChatSystem.DeviceName)];
            if (options.Raw) expected.Add(new(recipient, "phone"));
            if (options.Sdk) expected.Add(new(recipient, "sdk"));

            var progress = new FillProgress();
            var filling = FillInboxAsync(context, checker, sender, recipient, options.Messages, expected, progress, cancellationToken);
            await context.View.WatchAsync($"catch-up {run}/{options.Runs} · filling {recipient}'s inbox",
                () => [("sent", $"{progress.Sent:N0} / {options.Messages:N0}"), ("acknowledged", $"{progress.Answered:N0}")], filling).ConfigureAwait(false);
            var senderSocket = await filling.ConfigureAwait(false);
            await WaitForInboxHeadAsync(context, recipient, options.Messages, options.Timeout, cancellationToken).ConfigureAwait(false);

            var resourcesAtStart = probe.Take();
            if (options.Raw) raw.Add(await RawDeviceAsync(context, checker, recipient, options.Messages, options.Timeout, cancellationToken).ConfigureAwait(false));
            if (options.Sdk) sdk.Add(await SdkDeviceAsync(context, checker, recipient, options.Messages, options.Timeout, cancellationToken).ConfigureAwait(false));
            others.Add(ResourceProbe.Between(resourcesAtStart, probe.Take()).GetValueOrDefault("CPU: other processes (cores)"));
            context.View.Say($"catch-up {run}: " + string.Join(", ",
                (options.Raw ? [$"Bench device {raw[^1]:N3} s"] : Array.Empty<string>()).Concat(options.Sdk ? [$"Client SDK {sdk[^1]:N3} s"] : [])));

            // The sender's own copies (its inbox) must have arrived too before the checker settles.
            var echoed = Stopwatch.StartNew();
            while (senderSocket.Socket.CurMax < options.Messages && echoed.Elapsed < options.Timeout) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            senderSocket.Handler.Closing = true;
            await senderSocket.Socket.CloseAsync().ConfigureAwait(false);
        }

        var phase = new PhaseResult { System = "AspireChat", Phase = "catch-up", Clients = 3, Check = CheckSummary.From(checker.Finish()) };
        phase.Figures["messages waiting"] = options.Messages;
        Figures(phase, "Bench device", raw);
        Figures(phase, "Client SDK", sdk);
        phase.Figures["CPU: other processes during the catch-ups (cores, mean)"] = Math.Round(others.Average(), 2);
        phase.Notes.Add("clock: from opening the socket (hello with cursor 0) until the device holds every seq 1…N; the backlog was fully in the inbox before");
        result.Phases.Add(phase);
        if (raw.Count > 0) result.Targets.Add(new($"catch-up of {options.Messages:N0} offline messages (Bench device, median)", $"≤ {TargetSeconds} s", $"{Median(raw):N3} s", Median(raw) <= TargetSeconds));
        if (sdk.Count > 0) result.Targets.Add(new($"catch-up of {options.Messages:N0} offline messages (Client SDK, median)", $"≤ {TargetSeconds} s", $"{Median(sdk):N3} s", Median(sdk) <= TargetSeconds));
        return result;
    }

    private static void Figures(PhaseResult phase, string name, List<double> seconds)
    {
        if (seconds.Count == 0) return;
        for (var i = 0; i < seconds.Count; i++) phase.Figures[$"{name}: run {i + 1} (s)"] = Math.Round(seconds[i], 4);
        phase.Figures[$"{name}: median (s)"] = Math.Round(Median(seconds), 4);
        phase.Figures[$"{name}: best (s)"] = Math.Round(seconds.Min(), 4);
        phase.Figures[$"{name}: messages/s (median)"] = Math.Round(phase.Figures["messages waiting"] / Median(seconds));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed record SenderSocket(BenchSocket Socket, DeviceHandler Handler);

    private sealed class FillProgress
    {
        public int Sent;
        public int Answered;
    }

    /// <summary>Sends <paramref name="messages"/> to the offline recipient, at most 1,000 unanswered at a time; returns once all are answered.</summary>
    private static async Task<SenderSocket> FillInboxAsync(BenchContext context, DeliveryChecker checker, string sender, string recipient, int messages,
        IReadOnlyList<DeviceKey> expected, FillProgress progress, CancellationToken cancellationToken)
    {
        var window = new SemaphoreSlim(1000);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DeviceHandler(checker, firstSeq: 1, onAnswered: () =>
        {
            window.Release();
            if (Interlocked.Increment(ref progress.Answered) == messages) done.TrySetResult();
        });
        var token = await context.Target.Tokens.TokenAsync(sender, cancellationToken).ConfigureAwait(false);
        var socket = await BenchSocket.ConnectAsync(context.Target.WebSocketUri, context.Sources.Next(), sender, AspireChatSystem.DeviceName, token, null, handler, cancellationToken)
            .ConfigureAwait(false);
        var log = checker.Sender(sender, AspireChatSystem.DeviceName);
        for (long req = 1; req <= messages; req++)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            log.Sent(req, expected);
            await socket.SendChatAsync(req, Ope.OneToOne, recipient, 0, context.Padding).ConfigureAwait(false);
            Volatile.Write(ref progress.Sent, (int)req);
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        return new SenderSocket(socket, handler);
    }

    /// <summary>
    /// Waits until stage 2 has put all <paramref name="messages"/> into the recipient's inbox: a new device's
    /// <c>welcome.head</c> is the inbox head, and with no cursor it is pushed nothing.
    /// </summary>
    private static async Task WaitForInboxHeadAsync(BenchContext context, string recipient, int messages, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        for (var probe = 1; ; probe++)
        {
            var token = await context.Target.Tokens.TokenAsync(recipient, cancellationToken).ConfigureAwait(false);
            var socket = await BenchSocket.ConnectAsync(context.Target.WebSocketUri, context.Sources.Next(), recipient, $"probe-{probe}", token, null,
                new DeviceHandler(null, null, null), cancellationToken).ConfigureAwait(false);
            var head = socket.Welcome.Head;
            await socket.CloseAsync().ConfigureAwait(false);
            if (head >= messages) return;
            if (waited.Elapsed > timeout) throw new TimeoutException($"{recipient}'s inbox head is {head} after {timeout.TotalSeconds:N0} s, not {messages}");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<double> RawDeviceAsync(BenchContext context, DeliveryChecker checker, string recipient, int messages, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var token = await context.Target.Tokens.TokenAsync(recipient, cancellationToken).ConfigureAwait(false);
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DeviceHandler(checker, firstSeq: 1, onAnswered: null) { OnCurMax = (cur) => { if (cur >= messages) all.TrySetResult(); } };
        var clock = Stopwatch.StartNew();
        var socket = await BenchSocket.ConnectAsync(context.Target.WebSocketUri, context.Sources.Next(), recipient, "phone", token, 0, handler, cancellationToken)
            .ConfigureAwait(false);
        try
        {
            await all.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            handler.Closing = true;
            await socket.CloseAsync().ConfigureAwait(false);
        }
    }

    private static async Task<double> SdkDeviceAsync(BenchContext context, DeliveryChecker checker, string recipient, int messages, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var inbox = checker.Device(recipient, "sdk", firstSeq: 1);
        var count = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = new ChatClient(new ChatClientOptions
        {
            Server = context.Target.WebSocketUri,
            TokenProvider = ct => context.Target.Tokens.TokenAsync(recipient, ct),
            Device = "sdk",
            CursorStore = new InMemoryCursorStore(new CursorState { Seq = 0 }),
        });
        client.MessageReceived += (_, message) =>
        {
            inbox.Delivered(message.Seq, message.Id, message.Conv, message.Cseq, message.From, message.Type);
            if (Interlocked.Increment(ref count) == messages) all.TrySetResult();
        };
        var clock = Stopwatch.StartNew();
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await all.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Feeds one device's frames to the checker (when given one) and says when its sends are answered.</summary>
    private sealed class DeviceHandler(DeliveryChecker? checker, long? firstSeq, Action? onAnswered) : IBenchSocketHandler
    {
        public volatile bool Closing;
        public Action<long>? OnCurMax { get; init; }

        public void OnAck(BenchSocket socket, in ReceivedAck ack)
        {
            checker?.Sender(socket.User, socket.Device).Acked(ack.Req, ack.Id);
            if (ack.Seq is { } seq) checker?.Device(socket.User, socket.Device, firstSeq).HeldFromAck(seq, ack.Id, ack.Conv, ack.Cseq, socket.User);
            onAnswered?.Invoke();
        }

        public void OnError(BenchSocket socket, long? req, string code, string message)
        {
            if (req is not { } r) return;
            checker?.Sender(socket.User, socket.Device).Failed(r, code, message);
            onAnswered?.Invoke();
        }

        public void OnMessage(BenchSocket socket, in ReceivedMessage message)
        {
            checker?.Device(socket.User, socket.Device, firstSeq).Delivered(message.Seq, message.Id, message.Conv, message.Cseq, message.From, message.Type);
            OnCurMax?.Invoke(socket.CurMax);
        }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
        }
    }
}
