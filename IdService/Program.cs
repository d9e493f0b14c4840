using AspireChat.Messaging.Ids;
using AspireChat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddIdGenerator();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapIdEndpoints();
app.Run();
