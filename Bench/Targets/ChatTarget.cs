using System.Net.Http.Json;
using AspireChat.Bench.Transport;
using AspireChat.Protocol;

namespace AspireChat.Bench.Targets;

/// <summary>An AspireChat server Bench drives: where it is, how to get tokens, and (when Bench can see it) its memory.</summary>
public abstract class ChatTarget : IAsyncDisposable
{
    protected ChatTarget(Uri httpBase, ITokenSource tokens)
    {
        HttpBase = httpBase;
        Tokens = tokens;
        Http = new HttpClient { BaseAddress = httpBase, Timeout = TimeSpan.FromSeconds(60) };
        WebSocketUri = new UriBuilder(httpBase) { Scheme = httpBase.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
    }

    /// <summary>What the reports call it: <c>embedded (in-process)</c>, <c>gateway process</c>, or the URL.</summary>
    public abstract string Description { get; }

    public Uri HttpBase { get; }
    public Uri WebSocketUri { get; }
    public ITokenSource Tokens { get; protected set; }
    public HttpClient Http { get; }

    /// <summary>True when the server runs in this process (its memory and CPU are shared with the load clients).</summary>
    public virtual bool InProcess => false;

    /// <summary>The server's memory now, when Bench can read it; null for a remote URL.</summary>
    public virtual ServerMemory? ReadMemory(bool collectFirst) => null;

    /// <summary>Users one create or add request may name (docs/protocol.md §7, <c>Groups:MaxAddPerRequest</c>).</summary>
    private const int MembersPerRequest = 500;

    /// <summary>Creates a group as <paramref name="owner"/> with <paramref name="members"/> (in requests of at most 500 users); returns its gid.</summary>
    public async Task<string> CreateGroupAsync(string owner, IReadOnlyList<string> members, CancellationToken cancellationToken)
    {
        var token = await Tokens.TokenAsync(owner, cancellationToken).ConfigureAwait(false);
        var chunks = members.Chunk(MembersPerRequest).ToList();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/groups")
        {
            Content = JsonContent.Create(new CreateGroupRequest { Name = "bench", Members = chunks.FirstOrDefault() ?? [] }, ProtocolJson.Default.CreateGroupRequest),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /api/groups answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        var gid = (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.CreateGroupResponse, cancellationToken).ConfigureAwait(false))!.Gid;
        foreach (var chunk in chunks.Skip(1))
        {
            using var add = new HttpRequestMessage(HttpMethod.Post, $"/api/groups/{gid}/members")
            {
                Content = JsonContent.Create(new AddMembersRequest { Users = chunk }, ProtocolJson.Default.AddMembersRequest),
            };
            add.Headers.Authorization = new("Bearer", token);
            using var added = await Http.SendAsync(add, cancellationToken).ConfigureAwait(false);
            if (!added.IsSuccessStatusCode)
                throw new InvalidOperationException($"POST /api/groups/{gid}/members answered {(int)added.StatusCode}: {await added.Content.ReadAsStringAsync(cancellationToken)}");
        }
        return gid;
    }

    /// <summary>The group as <paramref name="member"/> sees it.</summary>
    public async Task<GroupInfoResponse?> GetGroupAsync(string member, string gid, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/groups/{gid}");
        request.Headers.Authorization = new("Bearer", await Tokens.TokenAsync(member, cancellationToken).ConfigureAwait(false));
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) return null;
        return await response.Content.ReadFromJsonAsync(ProtocolJson.Default.GroupInfoResponse, cancellationToken).ConfigureAwait(false);
    }

    public virtual ValueTask DisposeAsync()
    {
        Http.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A server's memory: resident set, and the managed heap when it is readable.</summary>
/// <param name="IncludesClients">True when the load clients live in the same process (embedded target).</param>
public sealed record ServerMemory(long ResidentBytes, long? ManagedHeapBytes, bool IncludesClients);
