using AspireChat.Messaging.Hosting;
using AspireChat.ServiceDefaults;

// The distributed topology's push consumer: chat.push → collapse → providers. The logic lives in Messaging/Push;
// the gateway runs the same consumer in-process in embedded mode.
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddChatPushService();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
