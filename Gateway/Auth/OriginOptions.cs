namespace AspireChat.Gateway.Auth;

/// <summary><c>Gateway:AllowedOrigins</c>: the browser origins besides the gateway's own that may open <c>/ws</c> and call the HTTP API.</summary>
public sealed class OriginOptions
{
    /// <summary>Origins such as <c>https://chat.example.com</c> (scheme, host and port; no path).</summary>
    public string[] AllowedOrigins { get; set; } = [];
}
