using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>Pipeline settings given to the AppHost, handed to the services that use them (docs/configuration.md).</summary>
internal static class PipelineSettingsExtensions
{
    /// <summary>The sections the whole stack is tuned by in one place.</summary>
    private static readonly string[] Sections = ["Groups", "Delivery", "Limits", "Push"];

    /// <summary>
    /// Every <c>Groups:*</c>, <c>Delivery:*</c>, <c>Limits:*</c> and <c>Push:*</c> value of the AppHost's configuration
    /// (appsettings, command line, environment) as the service's environment, e.g. <c>Groups__WriteDiffusionLimit</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPipelineSettings(this IResourceBuilder<ProjectResource> service)
    {
        var configuration = service.ApplicationBuilder.Configuration;
        foreach (var section in Sections)
        {
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
            {
                if (value is null) continue;
                service.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }
        return service;
    }
}
