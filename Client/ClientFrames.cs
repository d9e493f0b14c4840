using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>
/// Writes client → server frames with absent optional fields left out (<c>hello</c> without <c>cursor</c>,
/// <c>send</c> without <c>ex</c>/<c>from</c>, <c>ack</c> without <c>group</c>), as docs/protocol.md describes them; the
/// protocol's own metadata otherwise writes them as <c>null</c>.
/// </summary>
internal static class ClientFrames
{
    private static readonly ProtocolJson Compact = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        RespectRequiredConstructorParameters = true,
    });

    public static byte[] Write<T>(T frame) where T : class =>
        JsonSerializer.SerializeToUtf8Bytes(frame, (JsonTypeInfo<T>)Compact.GetTypeInfo(typeof(T))!);
}
