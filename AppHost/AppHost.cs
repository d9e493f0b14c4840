using AspireChat.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var vapid = builder.AddVapidKeys();

builder.AddProject<Projects.IdService>("idservice")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.DeliveryWorker>("deliveryworker")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.PushService>("pushservice")
    .WithHttpHealthCheck("/health")
    .WithVapidKeys(vapid);

builder.AddProject<Projects.Gateway>("gateway")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithEmbeddedPipeline(builder.ExecutionContext)
    .WithVapidKeys(vapid);

builder.Build().Run();
