namespace AspireChat.Messaging.Delivery;

/// <summary>Validates the token of a <c>hello</c> (the gateway's JWT bearer settings are one implementation).</summary>
public interface ITokenValidator
{
    /// <summary>The user id of a valid token; null for any token that is not (never says why).</summary>
    ValueTask<string?> ValidateAsync(string token, CancellationToken cancellationToken);
}
