using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.AppHost;

/// <summary>
/// The AppHost (F5) topology, started by Aspire.Hosting.Testing on this machine's local stand-ins (no container
/// runtime): two gateway replicas behind one endpoint, two DeliveryWorkers, the PushService and the IdService, on the
/// Kafka mock cluster, Garnet and the PostgreSQL cluster of the stand-ins' process.
/// </summary>
public sealed class AppHostTests
{
    [Fact]
    public async Task AppHost_starts_every_service_and_a_conversation_goes_across_its_two_gateway_nodes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var data = AspireChat.Tests.Support.TempDirectory.Create();
        await using var topology = await AppHostSession.StartAsync(data, timeout.Token);
        var http = topology.Http;
        Task<string> TokenAsync(string user) => topology.TokenAsync(user, timeout.Token);

        // Group ids come from the IdService through service discovery.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/groups") { Content = JsonContent.Create(new { name = "aspire", members = new[] { "bob" } }) };
        request.Headers.Authorization = new("Bearer", await TokenAsync("alice"));
        using var created = await http.SendAsync(request, timeout.Token);
        created.EnsureSuccessStatusCode();
        var gid = JsonDocument.Parse(await created.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("gid").GetString()!;
        Assert.Matches("^[0-9]+$", gid);

        // The endpoint's proxy spreads connections over the two replicas: bob on another node than alice.
        await using var alice = await topology.ConnectAsync("alice", "phone", timeout.Token);
        var bob = await topology.ConnectElsewhereAsync(alice, "bob", "laptop", timeout.Token);
        await alice.SendChatAsync(1, gid, "through the AppHost", ope: 1);
        var ack = await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        while (msg.GetProperty("type").GetInt32() < 0) msg = await bob.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal("through the AppHost", msg.GetProperty("body").GetProperty("text").GetString());
        await bob.DisposeAsync();
    }
}
