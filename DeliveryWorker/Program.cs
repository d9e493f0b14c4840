using AspireChat.Messaging.Hosting;
using AspireChat.ServiceDefaults;

// Stage 1 (sequence) and stage 2 (inbox) as consumers of the Kafka log, and the retry of unacknowledged pushes.
// The logic lives in Messaging/; the gateway runs the same stages in-process in embedded mode.
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDeliveryWorker();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
