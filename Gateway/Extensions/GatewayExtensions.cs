using AspireChat.Gateway.Apis;
using AspireChat.Gateway.Auth;
using AspireChat.Gateway.Connections;
using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Presence;
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
        // Anyone holding the signing key's dev-token endpoint can be anyone: refuse to run it where real users are.
        if (builder.Configuration.GetValue<bool>("Auth:DevTokens") && !builder.Environment.IsDevelopment())
            throw new InvalidOperationException(
                $"Auth:DevTokens=true is only allowed in the Development environment (this is '{builder.Environment.EnvironmentName}'): "
                + "it lets anyone mint a token for any user. Remove the setting; the business server mints tokens.");
        builder.AddChatGateway();
        var services = builder.Services;
        services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection("Auth"))
            .Validate(o => o.SigningKey is null || System.Text.Encoding.UTF8.GetByteCount(o.SigningKey) >= 32, "Auth:SigningKey must be at least 32 bytes")
            .Validate(o => o.MaxTokenLifetime > TimeSpan.Zero, "Auth:MaxTokenLifetime must be positive")
            .Validate(o => !o.DevTokens || o.DevTokenLifetime <= o.MaxTokenLifetime, "Auth:DevTokenLifetime must not be longer than Auth:MaxTokenLifetime")
            .ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        // Configured from the bound options when first used: no configuration read or key file touched while registering.
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>, IHostEnvironment, TimeProvider>((options, authOptions, environment, time) =>
        {
            var auth = authOptions.Value;
            options.MapInboundClaims = false;
            // The WWW-Authenticate answer says why a token failed only where the developer is the only caller.
            options.IncludeErrorDetails = environment.IsDevelopment();
            // One rule for the token's sub and lifetime on every endpoint; the WebSocket applies the same (TokenService).
            options.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    var refusal = context.Principal?.Identity is System.Security.Claims.ClaimsIdentity identity
                        ? TokenRules.Refusal(identity, time.GetUtcNow(), auth.MaxTokenLifetime)
                        : "no identity";
                    if (refusal is not null)
                    {
                        context.Fail(refusal);
                    }
                    return Task.CompletedTask;
                },
            };
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
        // Built at start rather than at the first request, so a key file open to other users stops the start (SigningKeys).
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).ValidateOnStart();
        services.AddAuthorization();
        services.AddProblemDetails();
        // A malformed body is a 400 problem in every environment (Development would throw it to the exception handler: 500).
        services.PostConfigure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = false);
        services.AddOptions<OriginOptions>().Bind(builder.Configuration.GetSection("Gateway"));
        services.AddSingleton<OriginCheck>();
        // CORS answers for the listed origins; the origin check (MapGatewayApi) refuses any other with 403.
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<OriginCheck>((cors, origins) =>
            cors.AddDefaultPolicy(policy => policy.SetIsOriginAllowed(origins.IsListed).AllowAnyHeader().AllowAnyMethod()));
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ProtocolJson.Default));

        services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection("Gateway"))
            .Validate(o => o.HelloTimeout > TimeSpan.Zero, "Gateway:HelloTimeout must be positive")
            .Validate(o => o.MaxQueuedBytes >= GatewayOptions.MinQueuedBytes, $"Gateway:MaxQueuedBytes must be at least {GatewayOptions.MinQueuedBytes} (one largest frame)")
            .ValidateOnStart();
        // A WebSocket's HTTP request lives as long as its connection: a span of hours tells nothing, and its tags would
        // stay in memory all that time. Each message has a trace of its own (MessageTracing).
        services.PostConfigure<OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions>(o =>
        {
            var previous = o.Filter;
            o.Filter = context => !context.Request.Path.StartsWithSegments("/ws") && (previous?.Invoke(context) ?? true);
        });
        // Plain /ws upgrades are taken at the connection, before Kestrel's HTTP/1.1 layer (decision 0020).
        services.AddSingleton<SocketUpgrade>();
        // An endpoint without HTTP/1.1 (h2c only) is left alone: it takes no upgrade.
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            listen.Use(next => connection => (listen.Protocols & Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1) == 0
                ? next(connection)
                : listen.ApplicationServices.GetRequiredService<SocketUpgrade>().OnConnectionAsync(connection, next))));
        services.AddSingleton<TokenService>();
        services.AddSingleton<PresenceVisibility>();
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
        app.UseOriginCheck();
        app.UseCors();
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
