namespace AspireChat.Protocol;

/// <summary>Rules for user, group, device and conversation identifiers.</summary>
public static class Identifiers
{
    public const int MaxIdLength = 64;
    public const int MaxDeviceLength = 64;
    /// <summary>Largest <c>req</c>: 2^53 − 1, the largest integer JavaScript holds exactly.</summary>
    public const long MaxReq = (1L << 53) - 1;

    /// <summary>True when <paramref name="id"/> matches <c>[A-Za-z0-9_.-]{1,64}</c> and is not <c>.</c> or <c>..</c>.</summary>
    public static bool IsValidId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength) return false;
        // Ids are path segments of the HTTP API (DELETE /api/groups/{gid}/members/{uid}); every HTTP client and server removes
        // the dot segments "." and ".." from a path (RFC 3986 §5.2.4, even percent-encoded), so such a user could never be named.
        if (id is "." or "..") return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        }
        return true;
    }

    /// <summary>A device name: 1–64 printable characters.</summary>
    public static bool IsValidDevice(string? device)
    {
        if (string.IsNullOrEmpty(device) || device.Length > MaxDeviceLength) return false;
        foreach (var c in device)
        {
            if (char.IsControl(c)) return false;
        }
        return true;
    }

    /// <summary>Conversation id of a one-to-one chat: <c>s:{a}:{b}</c> with a &lt; b (ordinal).</summary>
    public static string OneToOneConversation(string a, string b) =>
        string.CompareOrdinal(a, b) <= 0 ? $"s:{a}:{b}" : $"s:{b}:{a}";

    /// <summary>Conversation id of a group: <c>g:{gid}</c>.</summary>
    public static string GroupConversation(string gid) => $"g:{gid}";

    /// <summary>Conversation id of a send addressed to <paramref name="to"/> by <paramref name="from"/>.</summary>
    public static string ConversationOf(int ope, string from, string to) =>
        ope == Ope.Group ? GroupConversation(to) : OneToOneConversation(from, to);

    /// <summary>Parses a conversation id into its kind and parties; false when it is not one.</summary>
    public static bool TryParseConversation(string? conv, out int ope, out string first, out string second)
    {
        ope = 0; first = ""; second = "";
        if (conv is null) return false;
        if (conv.StartsWith("g:", StringComparison.Ordinal))
        {
            ope = Ope.Group;
            first = conv[2..];
            return IsValidId(first);
        }
        if (conv.StartsWith("s:", StringComparison.Ordinal))
        {
            var rest = conv.AsSpan(2);
            var colon = rest.IndexOf(':');
            if (colon < 0) return false;
            first = rest[..colon].ToString();
            second = rest[(colon + 1)..].ToString();
            return IsValidId(first) && IsValidId(second) && string.CompareOrdinal(first, second) <= 0;
        }
        return false;
    }
}
