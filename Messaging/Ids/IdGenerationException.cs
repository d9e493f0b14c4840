namespace AspireChat.Messaging.Ids;

/// <summary>An id source cannot issue ids: its clock stepped back too far, or its id space is used up.</summary>
public sealed class IdGenerationException : Exception
{
    public IdGenerationException(string message) : base(message) { }

    public IdGenerationException(string message, Exception innerException) : base(message, innerException) { }
}
