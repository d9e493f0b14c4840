namespace AspireChat.AppHost;

/// <summary>How users sign in to the gateway resource.</summary>
internal static class DevTokenExtensions
{
    /// <summary>
    /// Local runs get development tokens (<c>POST /api/dev/token</c>), so the web client can sign in; a published
    /// manifest never does: the business server mints the tokens there.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithDevTokens(
        this IResourceBuilder<ProjectResource> gateway,
        DistributedApplicationExecutionContext executionContext) =>
        executionContext.IsRunMode ? gateway.WithEnvironment("Auth__DevTokens", "true") : gateway;
}
