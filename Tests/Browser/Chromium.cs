using Microsoft.Playwright;

namespace AspireChat.Tests.Browser;

/// <summary>
/// Debian's Chromium, driven by Playwright, shared by the browser tests. Playwright's own browser download is never
/// used (this machine cannot reach it): the browser is the <c>chromium</c> on PATH, and without it the tests fail.
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
        var executable = FindOnPath("chromium") ?? throw new InvalidOperationException(
            "The browser tests need Debian's Chromium: 'chromium' is not on PATH. Install it with " +
            "'apt-get update && apt-get install -y chromium' (.ci/run installs it in CI).");
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

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>The browser tests share one Chromium and run one after another (each starts its own Gateway).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<Chromium>
{
    public const string Name = "Browser";
}
