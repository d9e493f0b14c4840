namespace AspireChat.Messaging.Consent;

/// <summary>A user on a block list, and since when it is blocked (Unix ms).</summary>
public sealed record BlockEntry(string User, long Since);
