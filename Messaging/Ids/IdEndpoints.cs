using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AspireChat.Messaging.Ids;

/// <summary>The IdService's answer: fresh ids, ascending, as decimal strings (64-bit ids exceed JavaScript's 2^53).</summary>
public sealed record IdBatch
{
    [JsonPropertyName("ids")] public required IReadOnlyList<string> Ids { get; init; }
}

[JsonSerializable(typeof(IdBatch))]
internal sealed partial class IdJson : JsonSerializerContext;

/// <summary><c>GET /ids?count=N</c>: the IdService's batch endpoint (docs/configuration.md).</summary>
public static class IdEndpoints
{
    public const int MaxBatch = 4096;

    public static IEndpointRouteBuilder MapIdEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ids", async (int? count, IIdGenerator generator, CancellationToken cancellationToken) =>
        {
            var n = count ?? 1;
            if (n is < 1 or > MaxBatch)
                return Results.Problem($"'count' must be from 1 to {MaxBatch}", statusCode: StatusCodes.Status400BadRequest);
            var ids = new long[n];
            try
            {
                await generator.NextIdsAsync(ids, cancellationToken);
            }
            catch (IdGenerationException e)
            {
                // A large clock step back: this instance refuses rather than risk a duplicate id.
                return Results.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            return Results.Json(new IdBatch { Ids = Array.ConvertAll(ids, id => id.ToString(CultureInfo.InvariantCulture)) }, IdJson.Default.IdBatch);
        });
        return app;
    }

    internal static System.Text.Json.Serialization.Metadata.JsonTypeInfo<IdBatch> BatchJson => IdJson.Default.IdBatch;
}
