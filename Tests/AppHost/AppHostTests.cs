using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.AppHost;

/// <summary>
/// The AppHost (F5) topology, started by Aspire.Hosting.Testing on this machine's local stand-ins:
/// no container runtime, so the gateway keeps its embedded pipeline and takes its ids from the IdService.
/// </summary>
public sealed class AppHostTests
{
    [Fact]
    public async Task AppHost_starts_every_service_and_a_conversation_goes_through_the_gateway()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var data = AspireChat.Tests.Support.TempDirectory.Create();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["AspireChat:Containers=false", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00"], timeout.Token);
        var gatewayResource = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "gateway");
        builder.CreateResourceBuilder(gatewayResource)
            .WithEnvironment("Storage__Path", Path.Combine(data, "store"))
            .WithEnvironment("Auth__KeyFile", Path.Combine(data, "signing.key"));

        await using var app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        foreach (var name in new[] { "idservice", "deliveryworker", "pushservice", "gateway" })
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

        var ws = new Uri($"ws://{http.BaseAddress!.Authority}/ws");
        await using var alice = await TestSocket.OpenAsync(ws);
        await alice.HelloAsync(await TokenAsync("alice"), "phone");
        await using var bob = await TestSocket.OpenAsync(ws);
        await bob.HelloAsync(await TokenAsync("bob"), "laptop");
        await alice.SendChatAsync(1, gid, "through the AppHost", ope: 1);
        var ack = await alice.ExpectAsync("ack");
        var msg = await bob.ExpectAsync("msg");
        while (msg.GetProperty("type").GetInt32() < 0) msg = await bob.ExpectAsync("msg");
        Assert.Equal(ack.GetProperty("id").GetString(), msg.GetProperty("id").GetString());
        Assert.Equal("through the AppHost", msg.GetProperty("body").GetProperty("text").GetString());
    }
}
