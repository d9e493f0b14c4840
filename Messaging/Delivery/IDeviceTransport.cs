namespace AspireChat.Messaging.Delivery;

/// <summary>
/// What a <see cref="DeviceSession"/> needs of the connection that carries it: a queue of outgoing frames and a way to
/// end the connection. The gateway's WebSocket connection is one; tests use their own.
/// </summary>
public interface IDeviceTransport
{
    /// <summary>Queues a frame for the device; false once the connection is closing (or the frame overflowed its queue, which closes it).</summary>
    bool TryWrite(byte[] frame);

    /// <summary>Ends the connection with a close code (docs/protocol.md), after the frames already queued.</summary>
    void Close(int code, string reason);
}
