using System.Net;

namespace AspireChat.Messaging.Push;

/// <summary>Resolves a push host name to addresses; DNS unless a test registers its own (to play a hostile DNS answer).</summary>
public delegate Task<IPAddress[]> PushHostResolver(string host, CancellationToken cancellationToken);
