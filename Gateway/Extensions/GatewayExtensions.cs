using AspireChat.Gateway.Apis;
using AspireChat.Gateway.Auth;
using AspireChat.Gateway.Connections;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Hosting;
using AspireChat.Protocol;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace AspireChat.Gateway.Extensions;

/// <summary>Registrations and endpoints of the Gateway.</summary>
public static class GatewayExtensions
{
    /// <summary>
    /// The gateway node (connections, auth, HTTP API) and — embedded mode — the whole pipeline in-process.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        builder.AddChatGateway();
        var services = builder.Services;
        services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection("Auth"))
            .Validate(o => o.SigningKey is null || System.Text.Encoding.UTF8.GetByteCount(o.SigningKey) >= 32, "Auth:SigningKey must be at least 32 bytes")
            .ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        // Configured from the bound options when first used: no configuration read or key file touched while registering.
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>>((options, authOptions) =>
        {
            var auth = authOptions.Value;
            options.MapInboundClaims = false;
            if (!string.IsNullOrEmpty(auth.Authority) && string.IsNullOrEmpty(auth.SigningKey))
            {
                options.Authority = auth.Authority;
                options.Audience = auth.Audience;
                options.RequireHttpsMetadata = !auth.Authority.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
            }
            else
            {
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    IssuerSigningKey = SigningKeys.Resolve(auth),
                    ValidIssuer = AuthOptions.Issuer,
                    ValidAudience = AuthOptions.TokenAudience,
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
            }
        });
        services.AddAuthorization();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ProtocolJson.Default));

        services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection("Gateway"))
            .Validate(o => o.HelloTimeout > TimeSpan.Zero, "Gateway:HelloTimeout must be positive")
            .Validate(o => o.MaxQueuedBytes >= GatewayOptions.MinQueuedBytes, $"Gateway:MaxQueuedBytes must be at least {GatewayOptions.MinQueuedBytes} (one largest frame)")
            .ValidateOnStart();
        services.AddSingleton<TokenService>();
        services.AddSingleton<ITokenValidator>(sp => sp.GetRequiredService<TokenService>());
        services.AddDeviceSessions(sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value.NodeId());
        return builder;
    }

    /// <summary>Maps <c>/ws</c>, the HTTP API of docs/protocol.md and the web client (<c>wwwroot</c>) at <c>/</c>.</summary>
    public static WebApplication MapGatewayApi(this WebApplication app)
    {
        app.MapChatSocket();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // The web client is plain files without a build step: revalidate them (ETag) rather than cache stale scripts.
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions { OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache" });
        app.UseAuthentication();
        app.UseAuthorization();
        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DevTokens) app.MapDevTokenApi();
        app.MapConversationsApi();
        app.MapGroupsApi();
        app.MapPresenceApi();
        app.MapBlocksApi();
        app.MapPushApi();
        return app;
    }
}
