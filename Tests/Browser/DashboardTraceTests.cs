using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>
/// One message's trace reaches the Aspire dashboard over OTLP (ServiceDefaults) and is found there by the message's
/// <c>id</c>, across the processes of the distributed topology (gateways and DeliveryWorkers on the stand-ins); the picture of it in the README (docs/images/message-trace.png) comes from this run.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardTraceTests(Chromium chromium)
{
    private static string Folder => Environment.GetEnvironmentVariable("ASPIRECHAT_SCREENSHOTS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task The_dashboard_finds_a_message_s_trace_by_its_id_and_shows_every_hop_of_it()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var data = AspireChat.Tests.Support.TempDirectory.Create();
        await using var topology = await AppHostSession.StartAsync(data, timeout.Token, dashboard: true, configure: builder =>
        {
            // Spans reach the dashboard within a second rather than the exporter's default five.
            foreach (var service in builder.Resources.OfType<ProjectResource>())
                builder.CreateResourceBuilder(service).WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "500");
        });
        var app = topology.App;
        await using var alice = await topology.ConnectAsync("alice", "phone", timeout.Token);
        // bob on the other node than alice, so the trace shows the message leaving one gateway and reaching the other.
        await using var bob = await topology.ConnectElsewhereAsync(alice, "bob", "laptop", timeout.Token);
        // A first message warms the path (ids leased and prefetched, the workers' consumer groups joined); the second is the one pictured.
        await alice.SendChatAsync(1, "bob", "Hi Bob");
        await alice.ExpectAsync("ack", TimeSpan.FromSeconds(60));
        await bob.ExpectAsync("msg", TimeSpan.FromSeconds(60));
        await alice.SendChatAsync(2, "bob", "Where did this message spend its time?");
        var id = (await alice.ExpectAsync("ack")).GetProperty("id").GetString()!;
        var msg = await bob.ExpectAsync("msg");
        await bob.SendAsync(new { t = "ack", seq = msg.GetProperty("seq").GetInt64() });

        var dashboard = await app.GetDashboardUrlAsync(timeout.Token);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 560 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(dashboard.ToString()); // signs in with the token in the URL
        var origin = $"{dashboard.Scheme}://{dashboard.Authority}";

        // The traces page filtered on the message id: its trace shows up once the gateway's exporter has sent it.
        var trace = page.GetByRole(AriaRole.Row).Filter(new LocatorFilterOptions { HasText = "receive" }).First;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await page.GotoAsync($"{origin}/traces?filters={Uri.EscapeDataString($"id:equals:{id}")}", new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
            if (await trace.IsVisibleAsync()) break;
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Directory.CreateDirectory(Folder);
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Folder, "message-trace-not-found.png") });
                await page.GotoAsync($"{origin}/traces", new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Folder, "message-trace-all.png") });
                Assert.Fail($"no trace of message {id} in the dashboard within 60 s ({page.Url})");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), timeout.Token);
        }
        // The grid refreshes live: a click that lands while it redraws opens nothing, so click again then.
        for (var attempt = 1; ; attempt++)
        {
            await trace.ClickAsync();
            try
            {
                await page.WaitForURLAsync("**/traces/detail/**", new PageWaitForURLOptions { Timeout = 15_000 });
                break;
            }
            catch (TimeoutException) when (attempt < 4)
            {
            }
        }
        // The recipient's ack is the last span, exported by bob's gateway after the others: the detail page shows the
        // spans it had when it opened, so it is reloaded until the ack has arrived too.
        var ack = page.GetByText(new System.Text.RegularExpressions.Regex("\\back\\b")).First;
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); !await ack.IsVisibleAsync() && waited.Elapsed < TimeSpan.FromSeconds(60);)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), timeout.Token);
            await page.ReloadAsync(new PageReloadOptions { WaitUntil = WaitUntilState.NetworkIdle });
        }
        // The distributed topology: the gateway receives and accepts, a DeliveryWorker sequences, fills the inbox and
        // routes, the recipient's gateway pushes; the recipient's ack closes it.
        foreach (var hop in new[] { "receive", "accept", "sequence", "inbox", "route", "push", "ack" })
            await Expect(page.GetByText(new System.Text.RegularExpressions.Regex($"\\b{hop}\\b")).First).ToBeVisibleAsync();
        foreach (var service in new[] { "gateway", "deliveryworker" })
            await Expect(page.GetByText(new System.Text.RegularExpressions.Regex($"\\b{service}\\b")).First).ToBeVisibleAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, "message-trace.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        Assert.True(new FileInfo(path).Length > 10_000, $"{path} looks empty");
    }
}
