using System.Text.Json;

namespace AspireChat.Client;

/// <summary>A message on its way to the server: its <c>req</c>, its status, and once acknowledged its id, conversation and time.</summary>
public sealed class OutgoingMessage : OutgoingRequest
{
    internal OutgoingMessage(long req, int ope, string to, int type, JsonElement body, JsonElement? ex, string? reply,
        IReadOnlyList<string>? mentions, byte[] frame) : base(req, frame)
    {
        Ope = ope;
        To = to;
        Type = type;
        Body = body;
        Ex = ex;
        Reply = reply;
        Mentions = mentions;
    }

    public int Ope { get; }
    public string To { get; }
    public int Type { get; }
    public JsonElement Body { get; }
    public JsonElement? Ex { get; }
    /// <summary>The id of the message this one answers, when it is a reply.</summary>
    public string? Reply { get; }
    /// <summary>The user ids (or <c>@all</c>) it mentions, when it mentions any.</summary>
    public IReadOnlyList<string>? Mentions { get; }
    /// <summary>The conversation, once acknowledged.</summary>
    public string? Conv => Receipt?.Conv;

    public override string ToString() => $"req {Req} → {To}: {Status}";
}
