using AspireChat.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var mongo = builder.AddMongoWhenAvailable();
var vapid = builder.AddVapidKeys();

var idservice = builder.AddProject<Projects.IdService>("idservice")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.DeliveryWorker>("deliveryworker")
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.PushService>("pushservice")
    .WithHttpHealthCheck("/health")
    .WithVapidKeys(vapid);

builder.AddProject<Projects.Gateway>("gateway")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(idservice).WaitFor(idservice)
    .WithChatStore(mongo)
    .WithEmbeddedPipeline(builder.ExecutionContext)
    .WithVapidKeys(vapid);

builder.Build().Run();
