using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>Where a <see cref="ChatClient"/> is in its life: connecting → connected ⇄ reconnecting → closed.</summary>
public enum ChatClientState
{
    /// <summary>Created; <see cref="ChatClient.ConnectAsync"/> not called yet.</summary>
    Idle,
    /// <summary>First connection attempt: socket, <c>hello</c>, waiting for <c>welcome</c>.</summary>
    Connecting,
    /// <summary>Welcomed; frames flow.</summary>
    Connected,
    /// <summary>The connection dropped; waiting out the backoff or handshaking again. Sends queue up.</summary>
    Reconnecting,
    /// <summary>Terminal: the server refused the token (close 4401 or <c>unauthorized</c>). No more reconnects.</summary>
    Unauthorized,
    /// <summary>Terminal: disposed.</summary>
    Closed,
}

/// <summary>Why a connection ended: the WebSocket close code and its meaning, or the failure that broke it.</summary>
public sealed record ChatDisconnect(int? CloseCode, string? CloseReason, string? ErrorCode, Exception? Exception)
{
    /// <summary>True when the server refused the credentials; the client then stops reconnecting.</summary>
    public bool IsUnauthorized => CloseCode == CloseCodes.Unauthorized || ErrorCode == ErrorCodes.Unauthorized;

    /// <summary>What the close code means, in words.</summary>
    public string Meaning => CloseCode switch
    {
        CloseCodes.Protocol => "protocol violation: the server closed the socket for bad frames (4400)",
        CloseCodes.Unauthorized => "unauthorized: the token was refused or hello came too late (4401)",
        CloseCodes.TooLarge => "frame too large (4413)",
        CloseCodes.RateLimited => "rate limited: too many frames (4429)",
        1000 => "normal closure",
        1001 => "the server is going away",
        1011 => "server error",
        CloseCodes.TryAgainLater => "a backing service of the server is unavailable; try again later (1013)",
        { } code => $"closed with code {code}",
        null when ErrorCode == ErrorCodes.Unauthorized => "unauthorized: the token was refused",
        null when Exception is not null => "connection failed: " + Exception.Message,
        null => "connection lost",
    };
}

/// <summary>A change of <see cref="ChatClient.State"/>; <see cref="Disconnect"/> says why the last connection ended, when one did.</summary>
public sealed class ChatStateChangedEventArgs(ChatClientState previous, ChatClientState state, ChatDisconnect? disconnect) : EventArgs
{
    public ChatClientState Previous { get; } = previous;
    public ChatClientState State { get; } = state;
    public ChatDisconnect? Disconnect { get; } = disconnect;
}

/// <summary>An <c>error</c> frame the client could not attribute to a request, or a failure in a background loop.</summary>
public sealed class ChatErrorEventArgs(ErrorFrame? frame, Exception? exception) : EventArgs
{
    public ErrorFrame? Frame { get; } = frame;
    public Exception? Exception { get; } = exception;
}

/// <summary>A request the server refused or the client gave up on; <see cref="Code"/> is an <see cref="ErrorCodes"/> or <see cref="ClientErrorCodes"/> value.</summary>
public sealed class ChatException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}

/// <summary>Error codes the client produces itself, beside the server's <see cref="ErrorCodes"/>.</summary>
public static class ClientErrorCodes
{
    /// <summary>No <c>ack</c> after <see cref="ChatClientOptions.MaxSendAttempts"/> transmissions, or no reply in time.</summary>
    public const string Timeout = "timeout";
    /// <summary>The request needs a welcomed connection and there is none.</summary>
    public const string NotConnected = "not_connected";
    /// <summary>The connection dropped before the reply arrived.</summary>
    public const string Disconnected = "disconnected";
}
