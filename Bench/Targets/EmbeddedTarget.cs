using System.Diagnostics;
using System.Security.Cryptography;
using AspireChat.Bench.Transport;
using AspireChat.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Bench.Targets;

/// <summary>
/// The embedded Gateway (every stage in-process, SQLite) started inside Bench on Kestrel 127.0.0.1:0, with its own
/// temporary data folder, dev tokens on, and the per-connection send rate limit raised out of the way.
/// </summary>
public sealed class EmbeddedTarget : ChatTarget
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private EmbeddedTarget(WebApplication app, Uri address, string dataDirectory, string signingKey)
        : base(address, new LocalTokenSource(signingKey, TimeSpan.FromHours(12)))
    {
        (_app, _dataDirectory) = (app, dataDirectory);
    }

    public override string Description => "embedded (in-process)";
    public override bool InProcess => true;

    /// <summary>Settings every Bench-started server gets; <paramref name="overrides"/> (from <c>--server-setting</c>) win.</summary>
    public static Dictionary<string, string?> ServerSettings(string dataDirectory, string signingKey, IReadOnlyDictionary<string, string>? overrides)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Storage:Path"] = Path.Combine(dataDirectory, "store"),
            ["Auth:DevTokens"] = "true",
            ["Auth:SigningKey"] = signingKey,
            ["Limits:SendsPerSecond"] = "1000000000",
            ["Limits:SendBurst"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Limits:FramesPerSecond"] = "1000000000",
            ["Limits:FrameBurst"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Error",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>()) settings[key] = value;
        return settings;
    }

    public static string NewSigningKey() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "aspirechat-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static async Task<EmbeddedTarget> StartAsync(IReadOnlyDictionary<string, string>? overrides = null, CancellationToken cancellationToken = default)
    {
        var dataDirectory = NewDataDirectory();
        var signingKey = NewSigningKey();
        var settings = ServerSettings(dataDirectory, signingKey, overrides);
        // Development: the only environment that serves dev tokens, which the load's users sign in with (docs/security.md).
        var app = GatewayApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new EmbeddedTarget(app, new Uri(address), dataDirectory, signingKey);
    }

    public override ServerMemory ReadMemory(bool collectFirst)
    {
        if (collectFirst)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        using var self = Process.GetCurrentProcess();
        return new ServerMemory(self.WorkingSet64, GC.GetTotalMemory(forceFullCollection: false), IncludesClients: true);
    }

    public override async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
        TryDelete(_dataDirectory);
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
