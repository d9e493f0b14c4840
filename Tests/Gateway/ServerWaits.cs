using System.Text.Json;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Storage;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// Waits for what a <see cref="GatewayServer"/> holds: an <c>ack</c> means durable, not yet in every inbox, list or
/// timeline (stages 1 and 2 may still run), so a test that reads those first waits for them here.
/// </summary>
internal static class ServerWaits
{
    /// <summary>Waits until <paramref name="user"/>'s inbox reaches <paramref name="head"/>.</summary>
    public static Task WaitForInboxHeadAsync(this GatewayServer server, string user, long head)
    {
        var store = server.Services.GetRequiredService<IInboxStore>();
        return Wait.UntilAsync(async () => await store.GetInboxHeadAsync(user) >= head, $"{user}'s inbox reached {head}");
    }

    /// <summary>Waits until group <paramref name="gid"/>'s timeline reaches <paramref name="cseq"/> (membership events count).</summary>
    public static Task WaitForGroupHeadAsync(this GatewayServer server, string gid, long cseq)
    {
        var timeline = server.Services.GetRequiredService<GroupTimeline>();
        return Wait.UntilAsync(async () => await timeline.HeadAsync(gid) >= cseq, $"group {gid} reached cseq {cseq}");
    }

    /// <summary>Waits until <paramref name="user"/>'s conversation list shows <paramref name="conv"/> with its last message at <paramref name="cseq"/>; returns the list.</summary>
    public static Task<JsonElement> WaitForListedAsync(this GatewayServer server, string user, string conv, long cseq) =>
        Wait.ForValueAsync<JsonElement>(async () =>
        {
            using var response = await server.RequestAsync(user, HttpMethod.Get, "/api/conversations");
            response.EnsureSuccessStatusCode();
            var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            var item = list.GetProperty("items").EnumerateArray().FirstOrDefault(i => i.GetProperty("conv").GetString() == conv);
            return item.ValueKind == JsonValueKind.Object && item.GetProperty("last").GetProperty("cseq").GetInt64() >= cseq ? list : null;
        }, $"{user}'s list shows {conv} at cseq {cseq}");
}
