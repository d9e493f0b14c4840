using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Push;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Push;

/// <summary>The push decision and collapsing, end to end through the embedded pipeline to a webhook receiver.</summary>
public sealed class CollapseTests
{
    private static readonly Dictionary<string, string?> Window = new() { ["Push:CollapseWindow"] = "00:00:02" };

    [Fact]
    public async Task Offline_user_gets_exactly_one_collapsed_notification_for_a_burst()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (200, null));
        await using var server = await WebhookTests.StartServerAsync(business, Window);
        await WebhookTests.SubscribeAsync(server, "bob", "phone");

        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 5; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 5);

        var request = await business.NextAsync();
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(5, body.RootElement.GetProperty("count").GetInt32());
        Assert.Equal("alice", body.RootElement.GetProperty("from").GetString());
        Assert.Equal("s:alice:bob", body.RootElement.GetProperty("conv").GetString());
        Assert.Equal(5, body.RootElement.GetProperty("seq").GetInt64());
        Assert.True(await business.StaysQuietAsync(TimeSpan.FromSeconds(2.5)), "one notification for the whole burst");
    }

    [Fact]
    public async Task Online_user_gets_no_notification()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (200, null));
        await using var server = await WebhookTests.StartServerAsync(business, Window);
        await WebhookTests.SubscribeAsync(server, "bob", "phone");
        await using var bob = await server.ConnectAsync("bob", "laptop");

        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await bob.ExpectManyAsync("msg", 3);

        Assert.True(await business.StaysQuietAsync(TimeSpan.FromSeconds(2.5)));
        Assert.Equal(0, server.Services.GetRequiredService<PushCollapser>().PendingUsers);
    }

    [Fact]
    public async Task User_who_comes_online_before_the_window_closes_gets_no_notification()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (200, null));
        await using var server = await WebhookTests.StartServerAsync(business, new Dictionary<string, string?> { ["Push:CollapseWindow"] = "00:00:03" });
        await WebhookTests.SubscribeAsync(server, "bob", "phone");

        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        await alice.ExpectManyAsync("ack", 3);
        var collapser = server.Services.GetRequiredService<PushCollapser>();
        await Eventually.UntilAsync(() => Task.FromResult(collapser.PendingUsers == 1), "bob's window is open");

        await using var bob = await server.ConnectAsync("bob", "phone", cursor: 0);
        await bob.ExpectManyAsync("msg", 3);

        await Eventually.UntilAsync(() => Task.FromResult(collapser.PendingUsers == 0), "bob's window closed");
        Assert.True(await business.StaysQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Own_messages_and_membership_events_are_not_notified()
    {
        await using var business = await LocalEndpoint.StartAsync(_ => (200, null));
        await using var server = await WebhookTests.StartServerAsync(business, Window);
        await WebhookTests.SubscribeAsync(server, "alice", "tablet");
        await WebhookTests.SubscribeAsync(server, "bob", "phone");

        // Stage 2 as the log would hand it: alice's own copy of her message, while none of her devices is online.
        var stage = server.Services.GetRequiredService<InboxStage>();
        var message = new ChatMessage(4242, "s:alice:bob", 1, 0, "alice", "bob", 1, JsonDocument.Parse("""{"text":"hi"}""").RootElement, null, 1);
        await stage.HandleAsync([new InboxAppend("alice", message)], CancellationToken.None);
        // A group's creation event reaches both members' inboxes; it is no chat message.
        await server.CreateGroupAsync("alice", "bob");
        Assert.True(await business.StaysQuietAsync(TimeSpan.FromSeconds(2.5)));

        // The same message in bob's inbox is notified.
        await stage.HandleAsync([new InboxAppend("bob", message)], CancellationToken.None);
        using var body = JsonDocument.Parse((await business.NextAsync()).Body);
        Assert.Equal("bob", body.RootElement.GetProperty("user").GetString());
    }
}
