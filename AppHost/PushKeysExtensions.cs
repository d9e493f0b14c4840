namespace AspireChat.AppHost;

/// <summary>The Web Push (VAPID) key pair, as every process that pushes or serves the public key gets it.</summary>
internal sealed record VapidKeyPair(string? KeyFile, IResourceBuilder<ParameterResource>? PublicKey, IResourceBuilder<ParameterResource>? PrivateKey);

/// <summary>How push credentials reach the gateway and the PushService.</summary>
internal static class PushKeysExtensions
{
    /// <summary>
    /// A published manifest asks for the pair as parameters (the private key a secret); a local run shares one
    /// key file that the first process to need it generates, so the key browsers subscribe with (served by the
    /// gateway) is the key the PushService signs with.
    /// </summary>
    public static VapidKeyPair AddVapidKeys(this IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsRunMode
            ? new VapidKeyPair(Path.Combine(builder.AppHostDirectory, "data", "vapid.json"), null, null)
            : new VapidKeyPair(null, builder.AddParameter("vapid-public-key"), builder.AddParameter("vapid-private-key", secret: true));

    public static IResourceBuilder<ProjectResource> WithVapidKeys(this IResourceBuilder<ProjectResource> service, VapidKeyPair keys)
    {
        if (keys.KeyFile is { } file) return service.WithEnvironment("Push__Vapid__KeyFile", file);
        return service
            .WithEnvironment("Push__Vapid__PublicKey", keys.PublicKey!)
            .WithEnvironment("Push__Vapid__PrivateKey", keys.PrivateKey!);
    }
}
