using Microsoft.Extensions.Configuration;

namespace AspireChat.AppHost;

/// <summary>Whether backing services can run as containers on this machine (docs/configuration.md).</summary>
internal static class ContainerRuntime
{
    /// <summary>
    /// <c>AspireChat:Containers</c> = true/false decides; otherwise a Docker or Podman endpoint must be
    /// reachable (a socket or DOCKER_HOST). A CLI without a daemon does not count: a container resource
    /// would sit unhealthy and everything waiting for it would fail.
    /// </summary>
    public static bool IsAvailable(IConfiguration configuration)
    {
        if (bool.TryParse(configuration["AspireChat:Containers"], out var configured)) return configured;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST"))) return true;
        if (OperatingSystem.IsWindows()) return File.Exists(@"\\.\pipe\docker_engine");
        var runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return File.Exists("/var/run/docker.sock")
            || File.Exists(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker/run/docker.sock"))
            || (runtimeDir is not null && File.Exists(Path.Combine(runtimeDir, "podman/podman.sock")));
    }
}
