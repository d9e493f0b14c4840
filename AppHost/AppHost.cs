using AspireChat.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// Containers or managed services in a published manifest; locally only MongoDB, where containers can run.
var mongo = builder.AddChatMongo("mongo");
var redis = builder.AddChatRedis("redis");
var kafka = builder.AddChatKafka("kafka");
var signingKey = builder.AddSigningKey();
var vapid = builder.AddVapidKeys();

var idservice = builder.AddProject<Projects.IdService>("idservice")
    .WithHttpHealthCheck("/health")
    .WithDeployedBackingServices(redis);

builder.AddProject<Projects.DeliveryWorker>("deliveryworker")
    .WithHttpHealthCheck("/health")
    .WithDeployedBackingServices(mongo, redis, kafka);

builder.AddProject<Projects.PushService>("pushservice")
    .WithHttpHealthCheck("/health")
    .WithVapidKeys(vapid)
    .WithDeployedBackingServices(mongo, redis, kafka);

builder.AddProject<Projects.Gateway>("gateway")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(idservice).WaitFor(idservice)
    .WithBackingService(mongo)
    .WithDeployedBackingServices(redis, kafka)
    .WithEmbeddedPipeline(builder.ExecutionContext)
    .WithSigningKey(signingKey)
    .WithVapidKeys(vapid);

builder.Build().Run();
