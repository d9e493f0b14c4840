using AspireChat.ServiceDefaults;
using AspireChat.StandIns;

// Kafka and Redis for the AppHost where no container can run: the ports come from the AppHost (StandIns:*).
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddStandIns();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
