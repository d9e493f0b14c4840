using AspireChat.Protocol;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// The <c>msg</c> frame of an inbox entry, serialized once for all the devices it goes to: stage 2 hands the same entry
/// to each online device of its user in turn, on one thread, so a one-entry cache per thread catches every repeat
/// (an entry is immutable, so its frame is too).
/// </summary>
internal static class InboxFrames
{
    [ThreadStatic] private static InboxEntry? t_entry;
    [ThreadStatic] private static byte[]? t_frame;

    public static byte[] Of(InboxEntry entry)
    {
        if (ReferenceEquals(t_entry, entry)) return t_frame!;
        var frame = FrameCodec.Write(entry.ToFrame());
        (t_entry, t_frame) = (entry, frame);
        return frame;
    }
}
