namespace AspireChat.Protocol;

/// <summary>The <c>code</c> values of an <see cref="ErrorFrame"/> (docs/protocol.md).</summary>
public static class ErrorCodes
{
    public const string BadFrame = "bad_frame";
    public const string TooLarge = "too_large";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string RateLimited = "rate_limited";
    public const string Unavailable = "unavailable";
}

/// <summary>WebSocket close codes the server uses (docs/protocol.md).</summary>
public static class CloseCodes
{
    /// <summary>Another connection of the same device was welcomed; this one is closed normally (do not reconnect it).</summary>
    public const int Replaced = 1000;
    /// <summary>The server is stopping (after answering every send it took); reconnect with backoff.</summary>
    public const int ServerStopping = 1001;
    /// <summary>The hello could not be served because a backing service failed (preceded by <c>unavailable</c>); reconnect with backoff.</summary>
    public const int TryAgainLater = 1013;
    public const int Protocol = 4400;
    public const int Unauthorized = 4401;
    /// <summary>The hello was refused: the user holds as many connections as <c>Limits:MaxDevicesPerUser</c> allows.</summary>
    public const int Forbidden = 4403;
    /// <summary>The client reads too slowly: more than <c>Gateway:MaxQueuedBytes</c> waited for it. Reconnect; nothing is lost.</summary>
    public const int TooSlow = 4408;
    public const int TooLarge = 4413;
    public const int RateLimited = 4429;
}
