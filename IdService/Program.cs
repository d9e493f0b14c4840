using AspireChat.Messaging.Ids;
using AspireChat.ServiceDefaults;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.Configure<SnowflakeOptions>(builder.Configuration.GetSection("Snowflake"));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<IIdGenerator>(sp => new SnowflakeIdGenerator(sp.GetRequiredService<IOptions<SnowflakeOptions>>().Value, sp.GetRequiredService<TimeProvider>()));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapIdEndpoints();
app.Run();
