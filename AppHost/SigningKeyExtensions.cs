namespace AspireChat.AppHost;

/// <summary>The HS256 key the gateway validates tokens with, as a published manifest asks for it.</summary>
internal static class SigningKeyExtensions
{
    /// <summary>
    /// A secret parameter in a published manifest: the business server mints the users' tokens with the same key, so
    /// the user supplies it (at least 32 bytes). A local run adds none: the gateway keeps a generated key file and
    /// hands out dev tokens.
    /// </summary>
    public static IResourceBuilder<ParameterResource>? AddSigningKey(this IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsPublishMode ? builder.AddParameter("jwt-signing-key", secret: true) : null;

    public static IResourceBuilder<ProjectResource> WithSigningKey(this IResourceBuilder<ProjectResource> gateway, IResourceBuilder<ParameterResource>? key) =>
        key is null ? gateway : gateway.WithEnvironment("Auth__SigningKey", key);
}
