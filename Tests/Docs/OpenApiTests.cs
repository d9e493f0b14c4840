using System.Text.Json;
using AspireChat.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Docs;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) of the running Gateway describes every HTTP endpoint it maps, with
/// request and response shapes and problem-details errors. The WebSocket endpoint, the health probes, the document
/// itself and the API reference page are not part of it.
/// </summary>
public sealed class OpenApiTests
{
    private static readonly string[] NotDescribed = ["/ws", "/health", "/alive", "/openapi", "/scalar"];

    [Fact]
    public async Task Every_mapped_http_endpoint_is_in_the_openapi_document()
    {
        await using var server = await GatewayServer.StartAsync();
        var mapped = MappedOperations(server.Services);
        using var document = await FetchDocumentAsync(server);
        var paths = document.RootElement.GetProperty("paths");

        Assert.NotEmpty(mapped);
        var missing = mapped.Where(op => !(paths.TryGetProperty(op.Path, out var item) && item.TryGetProperty(op.Method, out _))).ToList();
        Assert.True(missing.Count == 0, "not in the document: " + string.Join(", ", missing.Select(m => $"{m.Method.ToUpperInvariant()} {m.Path}")));

        var described = paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(m => (Path: p.Name, Method: m.Name))).ToHashSet();
        Assert.Equal(mapped.ToHashSet(), described);
    }

    [Fact]
    public async Task Every_operation_documents_its_shapes_and_its_problem_details()
    {
        await using var server = await GatewayServer.StartAsync();
        using var document = await FetchDocumentAsync(server);
        var root = document.RootElement;
        var schemas = root.GetProperty("components").GetProperty("schemas");

        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var name = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()), $"{name} has no summary");
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();

                var success = responses.Where(r => r.Name.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, $"{name} documents no success response");
                foreach (var response in success.Where(r => r.Name != "204"))
                    AssertShaped(schemas, JsonSchemaOf(response.Value, "application/json"), $"{name} {response.Name}");

                var problems = responses.Where(r => r.Name.StartsWith('4')).ToList();
                Assert.True(problems.Count > 0, $"{name} documents no error response");
                foreach (var problem in problems)
                    Assert.Equal("#/components/schemas/ProblemDetails", JsonSchemaOf(problem.Value, "application/problem+json").GetProperty("$ref").GetString());

                if (operation.Value.TryGetProperty("requestBody", out var body))
                    AssertShaped(schemas, body.GetProperty("content").GetProperty("application/json").GetProperty("schema"), $"{name} request");
            }
        }
        AssertShaped(schemas, schemas.GetProperty("ProblemDetails"), "ProblemDetails");
    }

    [Fact]
    public async Task Endpoints_that_need_a_token_declare_the_bearer_scheme()
    {
        await using var server = await GatewayServer.StartAsync();
        using var document = await FetchDocumentAsync(server);
        var root = document.RootElement;
        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        var paths = root.GetProperty("paths");
        Assert.True(paths.GetProperty("/api/presence").GetProperty("get").TryGetProperty("security", out _));
        Assert.True(paths.GetProperty("/api/groups").GetProperty("post").TryGetProperty("security", out _));
        Assert.False(paths.GetProperty("/api/dev/token").GetProperty("post").TryGetProperty("security", out _));
        Assert.False(paths.GetProperty("/api/push/vapid").GetProperty("get").TryGetProperty("security", out _));
    }

    /// <summary>(path as OpenAPI writes it, lower-case method) of every HTTP endpoint the app maps, minus the undescribed ones.</summary>
    private static List<(string Path, string Method)> MappedOperations(IServiceProvider services)
    {
        var operations = new List<(string, string)>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            if (NotDescribed.Any(prefix => path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal))) continue;
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods
                ?? throw new InvalidOperationException($"{path} accepts any method; describe it or list it as not described");
            operations.AddRange(methods.Select(m => (path, m.ToLowerInvariant())));
        }
        return operations;
    }

    private static async Task<JsonDocument> FetchDocumentAsync(GatewayServer server)
    {
        using var response = await server.Http.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static JsonElement JsonSchemaOf(JsonElement response, string mediaType) =>
        response.GetProperty("content").GetProperty(mediaType).GetProperty("schema");

    /// <summary>A schema that says something: a reference to a component with properties, or an array of such.</summary>
    private static void AssertShaped(JsonElement schemas, JsonElement schema, string where)
    {
        if (schema.TryGetProperty("items", out var items)) schema = items;
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/')[^1];
            Assert.True(schemas.TryGetProperty(name, out schema), $"{where}: {name} is not in components");
        }
        Assert.True(schema.TryGetProperty("properties", out var properties) && properties.EnumerateObject().Any(), $"{where}: the shape is empty");
    }
}
