using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary>A frame that cannot be read: carries the error code to answer with.</summary>
public sealed class FrameException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
