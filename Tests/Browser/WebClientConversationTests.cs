using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>The web client's conversation list, unread badges, receipts and typing indicator (docs/protocol.md §12.8) in headless Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WebClientConversationTests(Chromium chromium)
{
    private readonly IBrowser _browser = chromium.Browser;

    [Fact]
    public async Task A_new_device_shows_the_list_and_unread_badges_from_the_server()
    {
        await using var server = await GatewayServer.StartAsync();
        await using (var dave = await server.ConnectAsync("dave"))
        {
            for (var req = 1; req <= 3; req++) await dave.SendChatAsync(req, "carol", $"note {req}");
            await dave.ExpectManyAsync("ack", 3);
        }

        await using var carol = await ChatPage.OpenAsync(_browser, server.Address, "carol");

        await Expect(carol.Conversation("dave").Locator(".unread")).ToHaveTextAsync("3");
        await Expect(carol.Conversation("dave").Locator(".preview")).ToHaveTextAsync("note 3");
        Assert.Empty(carol.Errors);
    }

    [Fact]
    public async Task Reading_a_conversation_on_one_device_clears_its_badge_on_the_other()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var phone = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await using var laptop = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "are you there?");
        await alice.SendChatAsync(2, "bob", "ping me");
        await alice.ExpectManyAsync("ack", 2);
        await Expect(phone.Conversation("alice").Locator(".unread")).ToHaveTextAsync("2");
        await Expect(laptop.Conversation("alice").Locator(".unread")).ToHaveTextAsync("2");

        await phone.OpenConversationAsync("alice");

        await Expect(phone.Conversation("alice").Locator(".unread")).ToHaveCountAsync(0);
        await Expect(laptop.Conversation("alice").Locator(".unread")).ToHaveCountAsync(0);
        // The server's index agrees: a reload of the laptop shows no badge either.
        await laptop.Page.ReloadAsync();
        await laptop.ExpectOnlineAsync();
        await Expect(laptop.Conversation("alice")).ToHaveCountAsync(1);
        await Expect(laptop.Conversation("alice").Locator(".unread")).ToHaveCountAsync(0);
        Assert.Empty(phone.Errors);
        Assert.Empty(laptop.Errors);
    }

    [Fact]
    public async Task A_sent_message_shows_delivered_then_seen_and_the_other_side_sees_typing()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");

        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync("Coffee?");
        // Bob's page is online and acknowledges it: delivered, not yet seen.
        await Expect(alice.Message("Coffee?")).ToHaveAttributeAsync("data-receipt", "delivered");
        await Expect(alice.Message("Coffee?").Locator(".status")).ToHaveTextAsync("✓✓ Delivered");

        await bob.OpenConversationAsync("alice");
        await Expect(alice.Message("Coffee?")).ToHaveAttributeAsync("data-receipt", "seen");
        await Expect(alice.Message("Coffee?").Locator(".status")).ToHaveTextAsync("✓✓ Seen");

        await bob.Page.GetByLabel("Message", new PageGetByLabelOptions { Exact = true }).PressSequentiallyAsync("Sure");
        await Expect(alice.Page.Locator("#typing")).ToHaveTextAsync("bob is typing…");
        await Expect(bob.Page.Locator("#typing")).ToHaveTextAsync("");
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }
}
