using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AspireChat.Gateway.Extensions;

/// <summary>
/// The machine-readable description of the HTTP API: an OpenAPI document at <c>/openapi/v1.json</c> in every
/// environment (it describes no more than docs/protocol.md does), and the Scalar reference at <c>/scalar</c> in
/// Development. The WebSocket protocol is not HTTP and is described in docs/protocol.md only.
/// </summary>
public static class OpenApiExtensions
{
    private const string BearerScheme = "Bearer";

    public static IHostApplicationBuilder AddGatewayOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "AspireChat Gateway HTTP API",
                    Version = "v1",
                    Description = "History, groups, presence, push subscriptions and dev tokens. The WebSocket protocol (GET /ws) "
                        + "is described in docs/protocol.md. Errors are RFC 7807 problem details (application/problem+json). "
                        + "A browser request whose Origin is neither the gateway's own nor in Gateway:AllowedOrigins is refused with 403 "
                        + "(docs/security.md).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "A JWT whose 'sub' is the user id: HS256 with Auth:SigningKey, or from the OIDC Auth:Authority. "
                        + "A sub that is not a user id, or a lifetime (exp - iat) longer than Auth:MaxTokenLifetime, is refused (401).",
                };
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // The server writes numbers as JSON numbers; "integer or numeric string" is only what its reader tolerates.
                if (schema.Type is { } type && type.HasFlag(JsonSchemaType.Integer) && type.HasFlag(JsonSchemaType.String))
                {
                    schema.Type = type & ~JsonSchemaType.String;
                    schema.Pattern = null;
                }
                // JsonElement is only used for a message's body and ex: application-defined JSON objects.
                if (context.JsonTypeInfo.Type == typeof(System.Text.Json.JsonElement))
                {
                    schema.Type = JsonSchemaType.Object;
                    schema.Description = "An application-defined JSON object; its shape depends on the message type.";
                }
                return Task.CompletedTask;
            });
            // Endpoints that require authorization say so, so a generated client sends the bearer token.
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
                }
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static WebApplication MapGatewayOpenApi(this WebApplication app)
    {
        app.MapOpenApi();
        if (app.Environment.IsDevelopment()) app.MapScalarApiReference();
        return app;
    }
}
