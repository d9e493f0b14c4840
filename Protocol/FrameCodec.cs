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
        catch (InvalidOperationException)
        {
            // The serializer's own message names CLR types; a client only needs to know the frame is not readable.
            throw new FrameException(ErrorCodes.BadFrame, "not valid JSON");
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

    /// <summary>
    /// What is wrong, in the protocol's words: the field (by its JSON path) and never the serializer's message, which names
    /// internal types (<c>AspireChat.Protocol.SyncFrame</c>) and says how the server is built.
    /// </summary>
    private static string Describe(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            // "… missing required properties including: 'to'." — the field names are the protocol's own.
            var at = message.IndexOf("including", StringComparison.Ordinal);
            var colon = at < 0 ? -1 : message.IndexOf(':', at);
            var fields = colon < 0 ? "" : message[(colon + 1)..].Trim().TrimEnd('.');
            return fields.Length > 0 && !fields.Contains("AspireChat", StringComparison.Ordinal)
                ? $"missing required fields: {fields}"
                : "missing required fields (see docs/protocol.md)";
        }
        if (e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal))
            return $"field '{path[2..]}' has the wrong type or value";
        if (e.LineNumber is null) return "not valid JSON";
        return "not valid JSON, or not a JSON object of the frame's shape";
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
