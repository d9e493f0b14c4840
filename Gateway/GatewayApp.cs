using AspireChat.Gateway.Extensions;
using AspireChat.ServiceDefaults;

namespace AspireChat.Gateway;

/// <summary>Builds the Gateway application; <c>Program</c> runs it, tests host it on a real Kestrel socket.</summary>
public static class GatewayApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults();
        builder.AddGatewayServices();
        builder.AddGatewayOpenApi();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGatewayApi();
        app.MapGatewayOpenApi();
        return app;
    }
}
