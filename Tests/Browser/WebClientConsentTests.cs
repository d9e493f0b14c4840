using System.Net.Http.Json;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>The web client's block and mute buttons in the conversation header (docs/protocol.md §12.9) in headless Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WebClientConsentTests(Chromium chromium)
{
    private readonly IBrowser _browser = chromium.Browser;

    [Fact]
    public async Task Blocking_from_the_header_marks_the_user_blocked_and_the_server_refuses_its_sends_until_unblocked()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");
        await mallory.SendChatAsync(1, "bob", "buy my stuff");
        await mallory.ExpectAsync("ack");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await bob.OpenConversationAsync("mallory");

        await Button(bob, "Block").ClickAsync();

        await Expect(Button(bob, "Unblock")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(bob.Conversation("mallory").Locator(".blocked")).ToHaveTextAsync("blocked");
        await Expect(bob.Page.Locator("#conversation-subtitle")).ToContainTextAsync("Blocked");
        Assert.Equal(["mallory"], await BlockedByAsync(server, "bob"));
        await mallory.SendChatAsync(2, "bob", "hello?");
        Assert.Equal("forbidden", (await mallory.ExpectAsync("error")).GetProperty("code").GetString());

        // A reload learns the block list from the server.
        await bob.Page.ReloadAsync();
        await bob.ExpectOnlineAsync();
        await Expect(bob.Conversation("mallory").Locator(".blocked")).ToHaveCountAsync(1);

        await bob.OpenConversationAsync("mallory");
        await Button(bob, "Unblock").ClickAsync();
        await Expect(Button(bob, "Block")).ToHaveAttributeAsync("aria-pressed", "false");
        await Expect(bob.Conversation("mallory").Locator(".blocked")).ToHaveCountAsync(0);
        Assert.Empty(await BlockedByAsync(server, "bob"));
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task Muting_from_the_header_shows_the_muted_icon_in_the_list_across_a_reload_and_unmuting_removes_it()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", "lunch?");
        await alice.ExpectAsync("ack");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await bob.OpenConversationAsync("alice");
        // Groups have no block button; one-to-one conversations have both.
        await Expect(Button(bob, "Block")).ToBeVisibleAsync();

        await Button(bob, "Mute").ClickAsync();

        await Expect(Button(bob, "Unmute")).ToHaveAttributeAsync("aria-pressed", "true");
        var icon = bob.Conversation("alice").GetByRole(AriaRole.Img, new LocatorGetByRoleOptions { Name = "muted" });
        await Expect(icon).ToBeVisibleAsync();
        await bob.Page.ReloadAsync();
        await bob.ExpectOnlineAsync();
        await Expect(icon).ToBeVisibleAsync();

        await bob.OpenConversationAsync("alice");
        await Button(bob, "Unmute").ClickAsync();
        await Expect(Button(bob, "Mute")).ToHaveAttributeAsync("aria-pressed", "false");
        await Expect(icon).ToHaveCountAsync(0);
        using var list = await server.RequestAsync("bob", HttpMethod.Get, "/api/conversations");
        Assert.False((await list.Content.ReadFromJsonAsync(ProtocolJson.Default.ConversationPage))!.Items.Single().Muted);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task A_group_header_offers_mute_but_no_block()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var carol = await ChatPage.OpenAsync(_browser, server.Address, "carol");
        await carol.CreateGroupAsync("book club", "dave");

        await Expect(Button(carol, "Mute")).ToBeVisibleAsync();
        await Expect(carol.Page.Locator("#block-toggle")).ToBeHiddenAsync();
        Assert.Empty(carol.Errors);
    }

    private static ILocator Button(ChatPage page, string name) =>
        page.Page.Locator(".conversation-actions").GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = name, Exact = true });

    private static async Task<string[]> BlockedByAsync(GatewayServer server, string user)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, "/api/blocks");
        return [.. (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.BlocksPage))!.Items.Select(i => i.User)];
    }
}
