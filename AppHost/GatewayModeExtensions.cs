namespace AspireChat.AppHost;

/// <summary>How the gateway resource is wired to the rest of the pipeline.</summary>
internal static class GatewayModeExtensions
{
    /// <summary>
    /// Runs the gateway in embedded mode: every pipeline stage runs in its process (its
    /// chat store is MongoDB when one is wired, else its own SQLite file), so a local run
    /// depends on nothing that could fail to start. Local runs also get development
    /// tokens, so the web client can sign in; a published manifest never does.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithEmbeddedPipeline(
        this IResourceBuilder<ProjectResource> gateway,
        DistributedApplicationExecutionContext executionContext)
    {
        if (executionContext.IsRunMode)
        {
            gateway.WithEnvironment("Auth__DevTokens", "true");
        }

        return gateway;
    }
}
