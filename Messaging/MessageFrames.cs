using AspireChat.Protocol;

namespace AspireChat.Messaging;

/// <summary>Turns stored messages into the <c>msg</c> frames of the wire protocol.</summary>
public static class MessageFrames
{
    /// <summary>The frame for <paramref name="message"/>; <paramref name="seq"/> is null outside an inbox.</summary>
    public static MsgFrame ToFrame(this ChatMessage message, long? seq = null) => new()
    {
        Seq = seq,
        Id = message.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Conv = message.Conv,
        Cseq = message.Cseq,
        Ope = message.Ope,
        From = message.From,
        To = message.To,
        Type = message.Type,
        Body = message.Body,
        Ex = message.Ex,
        Ts = message.Ts,
        Reply = message.Reply?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Mentions = message.Mentions,
    };

    /// <summary>The frame of an inbox entry, carrying its <c>seq</c>.</summary>
    public static MsgFrame ToFrame(this InboxEntry entry) => entry.Message.ToFrame(entry.Seq);
}
