using AspireChat.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// Containers where a container runtime is available (and in a published manifest), local stand-ins otherwise.
var store = builder.AddChatStore();
var redis = builder.AddChatRedis("redis");
var kafka = builder.AddChatKafka("kafka");
var signingKey = builder.AddSigningKey();
var vapid = builder.AddVapidKeys();

var idservice = builder.AddProject<Projects.IdService>("idservice")
    .WithHttpHealthCheck("/health")
    .WithBackingService(redis)
    .WithTraceSampling();

builder.AddProject<Projects.DeliveryWorker>("deliveryworker")
    .WithReplicas(2)
    .WithHttpHealthCheck("/health")
    .WithBackingServices(store, redis, kafka)
    .WithPipelineSettings()
    .WithTraceSampling();

builder.AddProject<Projects.PushService>("pushservice")
    .WithHttpHealthCheck("/health")
    .WithBackingServices(store, redis, kafka)
    .WithVapidKeys(vapid)
    .WithPipelineSettings()
    .WithTraceSampling();

builder.AddProject<Projects.Gateway>("gateway")
    .WithReplicas(2)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(idservice).WaitFor(idservice)
    .WithBackingServices(store, redis, kafka)
    .WithPipelineSettings()
    .WithTraceSampling()
    .WithDevTokens(builder.ExecutionContext)
    .WithSigningKey(signingKey)
    .WithVapidKeys(vapid);

builder.Build().Run();
