using System.Text.Json;
using AspireChat.Bench.Checking;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// The chaos run: the embedded server is killed with SIGKILL again and again while senders pipeline messages,
/// and the clients do what the protocol asks (retransmit unacknowledged sends with the same req, resume from their
/// cursor). The Bench checker's verdict must be clean: nothing acknowledged lost, nothing shown twice, no reordering,
/// no seq gap.
/// </summary>
public sealed class ChaosTests
{
    private const int Pairs = 3;
    private const int Kills = 4;

    [Fact]
    public async Task Repeated_kill_9_under_load_loses_duplicates_and_reorders_nothing()
    {
        var data = TempDirectory.Create();
        var port = GatewayProcess.FreePort();
        var checker = new DeliveryChecker();
        var senders = Enumerable.Range(0, Pairs).Select(i => new Sender($"s{i}", $"r{i}", checker)).ToArray();
        var receivers = senders.Select(s => new Receiver(s.To, checker)).ToArray();

        for (var round = 0; round <= Kills; round++)
        {
            await using var gateway = await GatewayProcess.StartAsync(data, port);
            using var stop = new CancellationTokenSource();
            var loops = new List<Task>();
            foreach (var receiver in receivers) loops.Add(receiver.RunAsync(gateway, stop.Token));
            foreach (var sender in senders) loops.Add(sender.RunAsync(gateway, sendNew: round < Kills, stop.Token));

            if (round < Kills)
            {
                // Kill mid-stream, at a different moment each round.
                await Task.Delay(TimeSpan.FromMilliseconds(400 + 250 * round));
                gateway.Kill();
                stop.Cancel();
                await Task.WhenAll(loops);
                continue;
            }

            // Last round: every retransmission acknowledged and every acknowledged message delivered.
            await Wait.UntilAsync(() => senders.All(s => s.Unacked == 0), "every send acknowledged", TimeSpan.FromSeconds(60));
            await Wait.UntilAsync(() => senders.All(s => receivers.Single(r => r.User == s.To).Holds(s.AckedIds)), "every acknowledged message delivered", TimeSpan.FromSeconds(60));
            stop.Cancel();
            await Task.WhenAll(loops);
        }

        var report = checker.Finish();
        Assert.True(report.Violations.Count == 0, string.Join("\n", report.Violations.Take(20)));
        Assert.True(report.Counts.Acknowledged > Pairs * 20, $"only {report.Counts.Acknowledged} sends were acknowledged");
        Assert.Equal(report.Counts.Acknowledged, report.Counts.DeliveredAsExpected);
    }

    /// <summary>A device that pipelines sends to one recipient and retransmits, after each reconnect, what was not acknowledged.</summary>
    private sealed class Sender(string user, string to, DeliveryChecker checker)
    {
        private readonly SenderLog _log = checker.Sender(user, "d1");
        private readonly SortedSet<long> _unacked = [];
        private readonly HashSet<string> _ackedIds = [];
        private long _nextReq = 1;

        public string To => to;
        public int Unacked { get { lock (_unacked) return _unacked.Count; } }
        public IReadOnlyCollection<string> AckedIds { get { lock (_unacked) return [.. _ackedIds]; } }

        public async Task RunAsync(GatewayProcess gateway, bool sendNew, CancellationToken stop)
        {
            try
            {
                await using var socket = await gateway.ConnectAsync(user);
                var reader = ReadAcksAsync(socket, stop);
                long[] resend;
                lock (_unacked) resend = [.. _unacked];
                foreach (var req in resend) await socket.SendChatAsync(req, to, $"m{req}");
                while (sendNew && !stop.IsCancellationRequested)
                {
                    if (Unacked >= 50)
                    {
                        await Task.Delay(5, stop);
                        continue;
                    }
                    var req = _nextReq++;
                    lock (_unacked) _unacked.Add(req);
                    _log.Sent(req, [new DeviceKey(to, "d1")]);
                    await socket.SendChatAsync(req, to, $"m{req}");
                    await Task.Delay(2, stop);
                }
                await reader;
            }
            catch (Exception e) when (IsConnectionEnd(e, stop))
            {
            }
        }

        private async Task ReadAcksAsync(TestSocket socket, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                if (await NextAsync(socket, stop) is not { } frame || frame.GetProperty("t").GetString() != "ack") continue;
                var (req, id) = (frame.GetProperty("req").GetInt64(), frame.GetProperty("id").GetString()!);
                _log.Acked(req, id);
                lock (_unacked)
                {
                    _unacked.Remove(req);
                    _ackedIds.Add(id);
                }
            }
        }
    }

    /// <summary>A device that acknowledges cumulatively and says hello with the highest contiguous seq it holds.</summary>
    private sealed class Receiver(string user, DeliveryChecker checker)
    {
        private readonly DeviceLog _log = checker.Device(user, "d1", firstSeq: 1);
        private readonly HashSet<string> _ids = [];
        private long _cursor;

        public string User => user;

        public bool Holds(IReadOnlyCollection<string> ids)
        {
            lock (_ids) return ids.All(_ids.Contains);
        }

        public async Task RunAsync(GatewayProcess gateway, CancellationToken stop)
        {
            try
            {
                await using var socket = await gateway.ConnectAsync(user, cursor: Volatile.Read(ref _cursor));
                while (!stop.IsCancellationRequested)
                {
                    if (await NextAsync(socket, stop) is not { } frame || frame.GetProperty("t").GetString() != "msg") continue;
                    var seq = frame.GetProperty("seq").GetInt64();
                    var id = frame.GetProperty("id").GetString()!;
                    _log.Delivered(seq, id, frame.GetProperty("conv").GetString()!, frame.GetProperty("cseq").GetInt64(), frame.GetProperty("from").GetString()!);
                    lock (_ids) _ids.Add(id);
                    if (seq == _cursor + 1) Volatile.Write(ref _cursor, seq);
                    await socket.SendAsync(new { t = "ack", seq = _cursor });
                }
            }
            catch (Exception e) when (IsConnectionEnd(e, stop))
            {
            }
        }
    }

    // A quiet second is not an end: the loop asks again until the round is over.
    private static async Task<JsonElement?> NextAsync(TestSocket socket, CancellationToken stop)
    {
        try
        {
            return await socket.ReceiveAsync(TimeSpan.FromSeconds(1)).WaitAsync(stop);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    // The server was killed (socket errors, a closed channel) or the round is over.
    // A send into a socket the kill broke can surface as a cancellation wrapping the broken pipe, before the round's stop.
    private static bool IsConnectionEnd(Exception e, CancellationToken stop) =>
        stop.IsCancellationRequested || e is System.Net.WebSockets.WebSocketException or InvalidOperationException or HttpRequestException or IOException or JsonException
            or OperationCanceledException { InnerException: IOException };
}
