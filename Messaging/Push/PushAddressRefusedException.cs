namespace AspireChat.Messaging.Push;

/// <summary>A push connection was refused because its host resolves only to internal addresses (see <see cref="PushConnectGuard"/>).</summary>
public sealed class PushAddressRefusedException(string host)
    : IOException($"push host '{host}' resolves only to loopback, private or other internal addresses: refused")
{
    public string Host { get; } = host;
}
