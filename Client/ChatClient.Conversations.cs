using System.Net.Http.Headers;
using System.Net.Http.Json;
using AspireChat.Protocol;

namespace AspireChat.Client;

/// <summary>docs/protocol.md §12.8 on the client: read positions, typing, receipts, and the conversation list over HTTP.</summary>
public sealed partial class ChatClient
{
    private readonly Dictionary<string, long> _typingSent = new(StringComparer.Ordinal);
    private HttpClient? _ownHttp;

    /// <summary>Another device of this user marked a conversation read (clear its badge up to <c>cseq</c>); raised on the receive loop.</summary>
    public event EventHandler<ReadFrame>? ReadOnOtherDevice;

    /// <summary>Another member's delivered and read positions in a conversation moved; raised on the receive loop.</summary>
    public event EventHandler<ReceiptFrame>? ReceiptReceived;

    /// <summary>Another member is typing in a conversation; raised on the receive loop.</summary>
    public event EventHandler<TypingFrame>? TypingReceived;

    /// <summary>
    /// Marks <paramref name="conv"/> read through <paramref name="cseq"/> for this user (all its devices); the position
    /// never moves back. Returns once the frame is written; a refusal (<c>forbidden</c>, <c>not_found</c>) arrives on
    /// <see cref="Error"/>.
    /// </summary>
    public async Task MarkReadAsync(string conv, long cseq, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        ArgumentOutOfRangeException.ThrowIfNegative(cseq);
        var connection = _connection ?? throw NotConnected();
        await connection.WriteAsync(ClientFrames.Write(new ReadFrame { Conv = conv, Cseq = cseq }),
            () => connection.ExpectReply(PendingReply.ForSignal(conv))).AsTask().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Tells the other members this user is typing in <paramref name="conv"/>. At most one per conversation per 2 s is
    /// written (the server relays no more); returns false when this call was within that interval and sent nothing.
    /// </summary>
    public async Task<bool> SendTypingAsync(string conv, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        var connection = _connection ?? throw NotConnected();
        var now = _time.GetTimestamp();
        lock (_typingSent)
        {
            if (_typingSent.TryGetValue(conv, out var last) && _time.GetElapsedTime(last, now) < TypingInterval) return false;
            _typingSent[conv] = now;
        }
        await connection.WriteAsync(ClientFrames.Write(new TypingFrame { Conv = conv }),
            () => connection.ExpectReply(PendingReply.ForSignal(conv))).AsTask().WaitAsync(cancellationToken);
        return true;
    }

    /// <summary>How often the server relays one connection's typing in one conversation.</summary>
    public static readonly TimeSpan TypingInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// One page of this user's conversations, most recent activity first (<c>GET /api/conversations</c>): pass the
    /// page's <see cref="ConversationPage.Next"/> as <paramref name="before"/> for the next one.
    /// </summary>
    public async Task<ConversationPage> ListConversationsAsync(int limit = 50, long? before = null, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 200) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit is 1–200");
        var query = before is { } b ? $"?limit={limit}&before={b}" : $"?limit={limit}";
        return await GetAsync("api/conversations" + query, ProtocolJson.Default.ConversationPage, cancellationToken);
    }

    /// <summary>The other members' delivered and read positions in <paramref name="conv"/> (<c>GET /api/conversations/{conv}/receipts</c>).</summary>
    public async Task<ReceiptsPage> GetReceiptsAsync(string conv, CancellationToken cancellationToken = default)
    {
        if (!Identifiers.TryParseConversation(conv, out _, out _, out _)) throw new ArgumentException("conv must be s:{a}:{b} or g:{gid}", nameof(conv));
        return await GetAsync($"api/conversations/{Uri.EscapeDataString(conv)}/receipts", ProtocolJson.Default.ReceiptsPage, cancellationToken);
    }

    private async Task<T> GetAsync<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var response = await SendApiAsync(HttpMethod.Get, path, null, timeout.Token);
        return (await response.Content.ReadFromJsonAsync(type, timeout.Token))!;
    }

    // One HTTP API request with the bearer token; a refusal becomes a ChatException with the matching error code.
    private async Task<HttpResponseMessage> SendApiAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var request = new HttpRequestMessage(method, new Uri(ApiBase, path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _options.TokenProvider(cancellationToken));
        var response = await Http.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var code = (int)response.StatusCode switch
            {
                401 => ErrorCodes.Unauthorized,
                403 => ErrorCodes.Forbidden,
                404 => ErrorCodes.NotFound,
                400 => ErrorCodes.BadFrame,
                429 => ErrorCodes.RateLimited,
                _ => ErrorCodes.Unavailable,
            };
            throw new ChatException(code, $"{request.RequestUri} answered {(int)response.StatusCode}");
        }
    }

    private HttpClient Http => _options.Http ?? LazyInitializer.EnsureInitialized(ref _ownHttp, () => new HttpClient());

    private Uri ApiBase => _options.ApiBase ?? new UriBuilder(_options.Server)
    {
        Scheme = _options.Server.Scheme == "wss" ? "https" : "http",
        Path = _options.Server.AbsolutePath.EndsWith("/ws", StringComparison.Ordinal) ? _options.Server.AbsolutePath[..^2] : "/",
        Query = "",
    }.Uri;

    private void Raise<T>(EventHandler<T>? handler, T frame)
    {
        try
        {
            handler?.Invoke(this, frame);
        }
        catch (Exception e)
        {
            RaiseError(null, e);
        }
    }
}
