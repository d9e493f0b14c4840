using AspireChat.Tests.Support;
using Microsoft.Playwright;

namespace AspireChat.Tests.Browser;

/// <summary>
/// Debian's Chromium, driven by Playwright, shared by the browser tests. Playwright's own browser download is never
/// used (this machine cannot reach it): the browser is <see cref="Prerequisites.Chromium"/>, and without it every browser
/// test fails at once with the line saying what to install.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        // Without these Chromium floods the closed network with connections.
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var executable = Prerequisites.Chromium();
        // Expectations wait for the page, which waits for the server: allow for a loaded two-core machine.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = Flags,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
    }
}

/// <summary>The browser tests share one Chromium and run one after another (each starts its own Gateway).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<Chromium>
{
    public const string Name = "Browser";
}
