using AspireChat.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

builder.AddProject<Projects.IdService>("idservice")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.DeliveryWorker>("deliveryworker")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.PushService>("pushservice")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.Gateway>("gateway")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithEmbeddedPipeline(builder.ExecutionContext);

builder.Build().Run();
