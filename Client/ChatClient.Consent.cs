using System.Net.Http.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>docs/protocol.md §12.9 on the client: this user's block list and muted conversations, over HTTP.</summary>
public sealed partial class ChatClient
{
    /// <summary>
    /// Blocks <paramref name="user"/> (<c>POST /api/blocks</c>): its one-to-one sends to this user are refused, it cannot
    /// add this user to groups, and its typing, receipts and presence no longer reach this user. Blocking again is harmless.
    /// </summary>
    /// <exception cref="ChatException"><c>bad_frame</c> for an invalid id, this user itself, or past the server's block limit.</exception>
    public async Task BlockAsync(string user, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.IsValidId(user)) throw new ArgumentException("user must be a user id ([A-Za-z0-9_.-]{1,64})", nameof(user));
        using var timeout = RequestTimeout(cancellationToken);
        using var response = await SendApiAsync(HttpMethod.Post, "api/blocks",
            JsonContent.Create(new BlockRequest { User = user }, ProtocolJson.Default.BlockRequest), timeout.Token);
    }

    /// <summary>Unblocks <paramref name="user"/> (<c>DELETE /api/blocks/{user}</c>); false when it was not blocked.</summary>
    public async Task<bool> UnblockAsync(string user, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.IsValidId(user)) throw new ArgumentException("user must be a user id ([A-Za-z0-9_.-]{1,64})", nameof(user));
        using var timeout = RequestTimeout(cancellationToken);
        try
        {
            using var response = await SendApiAsync(HttpMethod.Delete, $"api/blocks/{Uri.EscapeDataString(user)}", null, timeout.Token);
            return true;
        }
        catch (ChatException e) when (e.Code == ErrorCodes.NotFound)
        {
            return false;
        }
    }

    /// <summary>The users this user blocks, by user id (<c>GET /api/blocks</c>).</summary>
    public async Task<IReadOnlyList<BlockedUser>> GetBlocksAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("api/blocks", ProtocolJson.Default.BlocksPage, cancellationToken)).Items;

    /// <summary>
    /// Mutes (or with <paramref name="muted"/> false unmutes) <paramref name="conv"/> for this user
    /// (<c>PUT /api/conversations/{conv}/settings</c>): no push notifications for it; its messages still arrive.
    /// </summary>
    /// <exception cref="ChatException"><c>forbidden</c> when this user is not a member, <c>not_found</c> when there is no such conversation.</exception>
    public async Task MuteAsync(string conv, bool muted = true, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        using var timeout = RequestTimeout(cancellationToken);
        using var response = await SendApiAsync(HttpMethod.Put, $"api/conversations/{Uri.EscapeDataString(conv)}/settings",
            JsonContent.Create(new ConversationSettings { Muted = muted }, ProtocolJson.Default.ConversationSettings), timeout.Token);
    }

    private CancellationTokenSource RequestTimeout(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        return timeout;
    }
}
