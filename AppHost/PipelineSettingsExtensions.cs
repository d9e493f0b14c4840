using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>Pipeline settings given to the AppHost, handed to the services that use them (docs/configuration.md).</summary>
internal static class PipelineSettingsExtensions
{
    /// <summary>The sections the whole stack is tuned by in one place.</summary>
    private static readonly string[] Sections = ["Groups", "Delivery", "Limits", "Push", "Messages", "Consent"];

    /// <summary>
    /// Every <c>Groups:*</c>, <c>Delivery:*</c>, <c>Limits:*</c>, <c>Push:*</c>, <c>Messages:*</c> and <c>Consent:*</c> value of the AppHost's configuration
    /// (appsettings, command line, environment) as the service's environment, e.g. <c>Groups__WriteDiffusionLimit</c>.
    /// A published manifest would carry the values in clear text, so credentials (<c>PrivateKey</c>, <c>Secret</c>) are
    /// forwarded in local runs only; deployed, they are set on the service (docs/deploy.md).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPipelineSettings(this IResourceBuilder<ProjectResource> service)
    {
        var configuration = service.ApplicationBuilder.Configuration;
        foreach (var section in Sections)
        {
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
            {
                if (value is null) continue;
                if (service.ApplicationBuilder.ExecutionContext.IsPublishMode && IsCredential(key)) continue;
                service.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }
        return service;
    }

    private static bool IsCredential(string key)
    {
        var name = key[(key.LastIndexOf(':') + 1)..];
        return name.Contains("Secret", StringComparison.OrdinalIgnoreCase) || name.Contains("PrivateKey", StringComparison.OrdinalIgnoreCase);
    }
}
