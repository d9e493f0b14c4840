using AspireChat.Gateway.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddGatewayServices();

var app = builder.Build();
app.MapGatewayApi();
app.MapGet("/health", () => "Healthy");
app.MapGet("/alive", () => "Healthy");
app.Run();

/// <summary>Entry point; public so tests can host the Gateway in-process.</summary>
public partial class Program;
