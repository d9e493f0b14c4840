namespace AspireChat.AppHost;

/// <summary>How the gateway resource is wired to the rest of the pipeline.</summary>
internal static class GatewayModeExtensions
{
    /// <summary>
    /// Runs the gateway in embedded mode: it gets no connection strings and no service
    /// references, so every pipeline stage runs in its process on its own SQLite store
    /// (DESIGN.md §9) and it depends on nothing that could fail to start. Local runs
    /// also get development tokens, so the web client can sign in; a published
    /// manifest never does.
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
