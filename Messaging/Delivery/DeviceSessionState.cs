namespace AspireChat.Messaging.Delivery;

/// <summary>Where a device session is: awaiting its hello, welcomed, or closed (docs/protocol.md).</summary>
public enum DeviceSessionState { AwaitingHello, Welcomed, Closed }
