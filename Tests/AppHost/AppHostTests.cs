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
/// Kafka mock cluster and Garnet of the stand-ins' process and a SQLite file they share.
/// </summary>
public sealed class AppHostTests
{
    [Fact]
    public async Task AppHost_starts_every_service_and_a_conversation_goes_across_its_two_gateway_nodes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var data = AspireChat.Tests.Support.TempDirectory.Create();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["AspireChat:Containers=false", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00",
             $"ConnectionStrings:chatdb=Data Source={Path.Combine(data, "chat.db")}"], timeout.Token);
        var gatewayResource = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "gateway");
        builder.CreateResourceBuilder(gatewayResource)
            .WithEnvironment("Auth__KeyFile", Path.Combine(data, "signing.key"));

        await using var app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        foreach (var name in new[] { "standins", "idservice", "deliveryworker", "pushservice", "gateway" })
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, timeout.Token);

        using var http = app.CreateHttpClient("gateway");
        async Task<string> TokenAsync(string user)
        {
            var response = await http.PostAsJsonAsync("/api/dev/token", new TokenRequest { User = user }, ProtocolJson.Default.TokenRequest, timeout.Token);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.TokenResponse, timeout.Token))!.Token;
        }

        // Group ids come from the IdService through service discovery.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/groups") { Content = JsonContent.Create(new { name = "aspire", members = new[] { "bob" } }) };
        request.Headers.Authorization = new("Bearer", await TokenAsync("alice"));
        using var created = await http.SendAsync(request, timeout.Token);
        created.EnsureSuccessStatusCode();
        var gid = JsonDocument.Parse(await created.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("gid").GetString()!;
        Assert.Matches("^[0-9]+$", gid);

        // The endpoint's proxy spreads connections over the two replicas: connect until alice and bob sit on different nodes.
        var ws = new Uri($"ws://{http.BaseAddress!.Authority}/ws");
        await using var alice = await TestSocket.OpenAsync(ws);
        await alice.HelloAsync(await TokenAsync("alice"), "phone");
        var sockets = new List<TestSocket>();
        TestSocket? bob = null;
        for (var attempt = 0; bob is null && attempt < 20; attempt++)
        {
            var socket = await TestSocket.OpenAsync(ws);
            sockets.Add(socket);
            await socket.HelloAsync(await TokenAsync("bob"), $"laptop{attempt}");
            if (socket.Welcome.GetProperty("node").GetString() != alice.Welcome.GetProperty("node").GetString()) bob = socket;
        }
        Assert.True(bob is not null, "every connection landed on one gateway node");
        foreach (var other in sockets.Where(s => s != bob)) await other.DisposeAsync();

        await alice.SendChatAsync(1, gid, "through the AppHost", ope: 1);
        var ack = await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        while (msg.GetProperty("type").GetInt32() < 0) msg = await bob.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal("through the AppHost", msg.GetProperty("body").GetProperty("text").GetString());
        await bob.DisposeAsync();
    }
}
