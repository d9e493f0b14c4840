namespace AspireChat.AppHost;

/// <summary>The backing services a gateway uses when they can run (containers) or are deployed (publish).</summary>
internal static class BackingServiceExtensions
{
    /// <summary>
    /// MongoDB as the chat store, with a data volume, when containers can run here or a manifest is being
    /// published; otherwise nothing is added and the gateway keeps its embedded SQLite store.
    /// </summary>
    public static IResourceBuilder<ContainerResource>? AddMongoWhenAvailable(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsPublishMode && !ContainerRuntime.IsAvailable(builder.Configuration)) return null;
        return builder.AddContainer("mongo", "mongo", "8.0")
            .WithVolume("aspirechat-mongo-data", "/data/db")
            .WithEndpoint(targetPort: 27017, name: "tcp", scheme: "tcp");
    }

    /// <summary>Points a service's chat store at <paramref name="mongo"/> (<c>ConnectionStrings:mongo</c>), when there is one.</summary>
    public static IResourceBuilder<ProjectResource> WithChatStore(this IResourceBuilder<ProjectResource> service, IResourceBuilder<ContainerResource>? mongo)
    {
        if (mongo is null) return service;
        var endpoint = mongo.GetEndpoint("tcp");
        return service
            .WithEnvironment("ConnectionStrings__mongo", ReferenceExpression.Create($"mongodb://{endpoint.Property(EndpointProperty.HostAndPort)}/aspirechat"))
            .WaitFor(mongo);
    }
}
