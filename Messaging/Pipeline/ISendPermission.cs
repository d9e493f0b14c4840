using AspireChat.Protocol;

namespace AspireChat.Messaging.Pipeline;

/// <summary>Decides whether a user may send to a conversation (stage 0).</summary>
public interface ISendPermission
{
    /// <summary>Null when allowed; otherwise the refusal (<c>forbidden</c>, <c>not_found</c>).</summary>
    ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default);
}
