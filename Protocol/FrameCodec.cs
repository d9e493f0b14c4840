using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary>Reads and writes protocol frames as UTF-8 JSON.</summary>
public static class FrameCodec
{
    /// <summary>The value of the top-level <c>t</c> field, without deserializing the rest.</summary>
    /// <exception cref="FrameException">not a JSON object, or <c>t</c> missing or not a string.</exception>
    public static string ReadType(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new FrameException(ErrorCodes.BadFrame, "a frame must be a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("t"u8);
                reader.Read();
                if (isType)
                {
                    if (reader.TokenType != JsonTokenType.String)
                        throw new FrameException(ErrorCodes.BadFrame, "field 't' must be a string");
                    return reader.GetString()!;
                }
                reader.Skip();
            }
            throw new FrameException(ErrorCodes.BadFrame, "field 't' is missing");
        }
        catch (JsonException e)
        {
            throw new FrameException(ErrorCodes.BadFrame, "not valid JSON: " + e.Message);
        }
        catch (InvalidOperationException e)
        {
            // e.g. a string that is not valid UTF-8 (found by FrameCodecFuzzTests)
            throw new FrameException(ErrorCodes.BadFrame, "not valid JSON: " + e.Message);
        }
    }

    /// <summary>Deserializes a whole frame of a known type; missing or mistyped fields become <c>bad_frame</c>.</summary>
    public static T Read<T>(ReadOnlySpan<byte> utf8) where T : class
    {
        try
        {
            var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ProtocolJson.Default.GetTypeInfo(typeof(T))!;
            return JsonSerializer.Deserialize(utf8, info)
                ?? throw new FrameException(ErrorCodes.BadFrame, "frame is null");
        }
        catch (JsonException e)
        {
            throw new FrameException(ErrorCodes.BadFrame, Describe(e));
        }
        catch (InvalidOperationException e)
        {
            throw new FrameException(ErrorCodes.BadFrame, e.Message);
        }
    }

    /// <summary>Serializes a frame to UTF-8 JSON.</summary>
    public static byte[] Write<T>(T frame) where T : class
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ProtocolJson.Default.GetTypeInfo(typeof(T))!;
        return JsonSerializer.SerializeToUtf8Bytes(frame, info);
    }

    /// <summary>Serializes a frame into a caller-owned buffer writer (no intermediate array).</summary>
    public static void Write<T>(System.Buffers.IBufferWriter<byte> output, T frame) where T : class
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ProtocolJson.Default.GetTypeInfo(typeof(T))!;
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, frame, info);
    }

    private static string Describe(JsonException e)
    {
        // The serializer's message names the path ($.req) and the problem; keep it, drop the type names.
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var path = e.Path is { Length: > 0 } p ? $" at {p}" : "";
        return (cut > 0 ? message[..cut] : message) + path;
    }

    /// <summary>The <c>req</c> of a frame that may be malformed (to answer an error for it); null when there is none.</summary>
    public static long? TryReadReq(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isReq = reader.ValueTextEquals("req"u8);
                reader.Read();
                if (isReq) return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var req) ? req : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
