using AspireChat.Messaging.Groups;

namespace AspireChat.Messaging.Delivery;

/// <summary>
/// A frame for one device that is relayed, never stored or retried: <c>read</c>, <c>receipt</c>, <c>typing</c>
/// (docs/protocol.md §12.8). <paramref name="Frame"/> is the serialized server → client frame.
/// </summary>
public sealed record DeviceSignal(string User, string Device, byte[] Frame);
