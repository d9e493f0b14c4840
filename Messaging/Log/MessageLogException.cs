namespace AspireChat.Messaging.Log;

/// <summary>
/// The log did not make an append durable (the broker refused it, was unreachable, or did not answer within
/// the message timeout). Nothing may be acknowledged on the strength of that append; the sender retries.
/// </summary>
public sealed class MessageLogException(string message, Exception? innerException = null) : Exception(message, innerException);
