namespace AspireChat.Messaging.Groups;

/// <summary>
/// Per-user records beside the groups: the user record (<c>user_info</c>) and each device's cursor in the large groups it
/// reads (read diffusion). Served by the same adapter as <see cref="IGroupStore"/>, which creates its tables.
/// </summary>
public interface IUserStore
{
    /// <summary>Records a user (<c>user_info</c>); keeps an existing name unless one is given.</summary>
    ValueTask UpsertUserAsync(string user, string? name = null, CancellationToken cancellationToken = default);

    /// <summary>The device's recorded cursor in a large group; null when never recorded.</summary>
    ValueTask<long?> GetGroupCursorAsync(string user, string device, string gid, CancellationToken cancellationToken = default);

    /// <summary>Moves the device's group cursor forward; never backwards.</summary>
    ValueTask AdvanceGroupCursorAsync(string user, string device, string gid, long cseq, CancellationToken cancellationToken = default);
}
