using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using AspireChat.Bench.Reporting;
using AspireChat.Bench.Transport;
using AspireChat.Protocol;

namespace AspireChat.Bench.Workloads;

/// <summary>Settings of the conversation-list workload.</summary>
public sealed record ConversationListOptions(int Conversations, int Requests, int PageSize);

/// <summary>
/// <c>GET /api/conversations</c> for a user with N conversations (docs/protocol.md §12.8): the user sends one message to each of
/// N others, so its index holds N rows; then the first page (<c>limit</c> = page size) is asked for repeatedly, one
/// request at a time, and the whole list is walked with <c>before</c>/<c>next</c> pages of 200. Reported, never asserted.
/// </summary>
public static class ConversationListWorkload
{
    public static async Task<BenchResult> RunAsync(BenchContext context, ConversationListOptions options, CancellationToken cancellationToken)
    {
        var result = context.NewResult("conversations");
        var user = $"{context.RunId}-cl";
        await FillAsync(context, user, options.Conversations, cancellationToken).ConfigureAwait(false);
        var token = await context.Target.Tokens.TokenAsync(user, cancellationToken).ConfigureAwait(false);

        // Warm-up: the first requests pay for JIT and cold caches.
        for (var i = 0; i < 20; i++) await PageAsync(context, token, options.PageSize, null, cancellationToken).ConfigureAwait(false);
        var first = new List<double>(options.Requests);
        for (var i = 0; i < options.Requests; i++)
        {
            var clock = Stopwatch.StartNew();
            await PageAsync(context, token, options.PageSize, null, cancellationToken).ConfigureAwait(false);
            first.Add(clock.Elapsed.TotalMilliseconds);
        }
        var walks = new List<double>();
        var listed = 0;
        for (var i = 0; i < Math.Max(5, options.Requests / 20); i++)
        {
            var clock = Stopwatch.StartNew();
            listed = 0;
            long? before = null;
            do
            {
                var page = await PageAsync(context, token, 200, before, cancellationToken).ConfigureAwait(false);
                listed += page.Items.Count;
                before = page.Next;
            } while (before is not null);
            walks.Add(clock.Elapsed.TotalMilliseconds);
        }

        var phase = new PhaseResult { System = "AspireChat", Phase = "list", Clients = 1 };
        phase.Figures["conversations of the user"] = options.Conversations;
        phase.Figures["conversations listed by the walk"] = listed;
        Figures(phase, $"first page (limit {options.PageSize}) ms", first);
        Figures(phase, "whole list in pages of 200 ms", walks);
        phase.Notes.Add($"one request at a time over loopback HTTP/1.1 with a bearer token; {options.Requests:N0} first-page requests, {walks.Count} walks");
        result.Phases.Add(phase);
        context.View.Say($"first page: p50 {Percentile(first, 50):N2} ms, p99 {Percentile(first, 99):N2} ms; whole list: p50 {Percentile(walks, 50):N2} ms");
        return result;
    }

    private static void Figures(PhaseResult phase, string name, List<double> ms)
    {
        phase.Figures[$"{name}: p50"] = Math.Round(Percentile(ms, 50), 3);
        phase.Figures[$"{name}: p99"] = Math.Round(Percentile(ms, 99), 3);
        phase.Figures[$"{name}: mean"] = Math.Round(ms.Average(), 3);
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static async Task<ConversationPage> PageAsync(BenchContext context, string token, int limit, long? before, CancellationToken cancellationToken)
    {
        var url = new Uri(context.Target.HttpBase, before is { } b ? $"api/conversations?limit={limit}&before={b}" : $"api/conversations?limit={limit}");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await context.Target.Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ConversationPage, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>One message from <paramref name="user"/> to each of <paramref name="count"/> others, every one acknowledged.</summary>
    private static async Task FillAsync(BenchContext context, string user, int count, CancellationToken cancellationToken)
    {
        var answered = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var window = new SemaphoreSlim(500);
        var handler = new Answers(() =>
        {
            window.Release();
            if (Interlocked.Increment(ref answered) == count) done.TrySetResult();
        });
        var token = await context.Target.Tokens.TokenAsync(user, cancellationToken).ConfigureAwait(false);
        var socket = await BenchSocket.ConnectAsync(context.Target.WebSocketUri, context.Sources.Next(), user, AspireChatSystem.DeviceName, token, null, handler, cancellationToken)
            .ConfigureAwait(false);
        for (var i = 1; i <= count; i++)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            await socket.SendChatAsync(i, Ope.OneToOne, $"{user}-p{i}", 0, context.Padding).ConfigureAwait(false);
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        // Acknowledged means durable; the index row is stage 2's, in the same batch in the embedded mode. Wait for the
        // last row in any mode before measuring.
        var clock = Stopwatch.StartNew();
        while (socket.CurMax < count && clock.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        await socket.CloseAsync().ConfigureAwait(false);
    }

    private sealed class Answers(Action answered) : IBenchSocketHandler
    {
        public void OnAck(BenchSocket socket, in ReceivedAck ack) => answered();

        public void OnError(BenchSocket socket, long? req, string code, string message)
        {
            if (req is not null) answered();
        }

        public void OnMessage(BenchSocket socket, in ReceivedMessage message)
        {
        }

        public void OnClosed(BenchSocket socket, Exception? error)
        {
        }
    }
}
