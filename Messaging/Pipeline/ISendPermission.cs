using AspireChat.Protocol;

namespace AspireChat.Messaging.Pipeline;

/// <summary>Decides whether a user may send to a conversation (stage 0).</summary>
public interface ISendPermission
{
    /// <summary>Null when allowed; otherwise the refusal (<c>forbidden</c>, <c>not_found</c>).</summary>
    ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default);
}

/// <summary>
/// One-to-one chats are open between any two users. Groups do not exist yet (the group issue adds
/// them), so every group send is answered <c>not_found</c>.
/// </summary>
public sealed class DefaultSendPermission : ISendPermission
{
    public ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(send.Ope == Ope.Group
            ? new SendRejection(ErrorCodes.NotFound, $"group '{send.To}' does not exist")
            : null);
}
