using System.Text.RegularExpressions;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>
/// The web client's message operations (docs/protocol.md §13) in headless Chromium against a real embedded Gateway:
/// reply, mentions, edit with its versions, recall, reactions and pins — and a device that was offline catching up on them.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class WebClientOperationTests(Chromium chromium)
{
    private readonly IBrowser _browser = chromium.Browser;

    private static async Task<(ChatPage Alice, ChatPage Bob)> ChatAsync(IBrowser browser, GatewayServer server, string first)
    {
        var alice = await ChatPage.OpenAsync(browser, server.Address, "alice");
        var bob = await ChatPage.OpenAsync(browser, server.Address, "bob");
        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync(first);
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts).ToHaveTextAsync([first]);
        return (alice, bob);
    }

    [Fact]
    public async Task A_reply_shows_a_quote_of_the_message_it_answers_on_both_sides()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "Lunch at noon?");
        await using var _ = alice;
        await using var __ = bob;

        await bob.ActAsync("Lunch at noon?", "reply");
        await Expect(bob.Page.Locator("#composer-context")).ToContainTextAsync("Replying to alice");
        await bob.SendAsync("Yes, see you there");

        foreach (var page in new[] { alice, bob })
        {
            var quote = page.Message("Yes, see you there").Locator(".quote");
            await Expect(quote.Locator(".quote-from")).ToHaveTextAsync("alice");
            await Expect(quote.Locator(".quote-text")).ToHaveTextAsync("Lunch at noon?");
        }
        await Expect(bob.Page.Locator("#composer-context")).ToBeHiddenAsync();
        // The reply is the server's too: a reload (history) quotes it the same way.
        await alice.Page.ReloadAsync();
        await alice.ExpectOnlineAsync();
        await Expect(alice.Message("Yes, see you there").Locator(".quote .quote-text")).ToHaveTextAsync("Lunch at noon?");
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task A_mention_completes_after_at_is_highlighted_and_badges_the_mentioned_members_list()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await using var carol = await ChatPage.OpenAsync(_browser, server.Address, "carol");
        await alice.CreateGroupAsync("Review", "bob", "carol");
        await Expect(alice.Members).ToHaveCountAsync(3);

        var composer = alice.Page.GetByLabel("Message", new PageGetByLabelOptions { Exact = true });
        await composer.PressSequentiallyAsync("@ca");
        await Expect(alice.Page.Locator("#mention-list [role=option]")).ToHaveTextAsync(["@carol"]);
        await composer.PressAsync("Enter");
        await Expect(composer).ToHaveValueAsync("@carol ");
        await composer.PressSequentiallyAsync("please review the diff");
        await composer.PressAsync("Enter");
        const string text = "@carol please review the diff";
        await Expect(alice.Message(text)).ToHaveAttributeAsync("data-status", "sent");

        await Expect(carol.Conversation("Review").Locator(".mention-badge")).ToHaveAttributeAsync("aria-label", "1 mention");
        await Expect(bob.Conversation("Review").Locator(".unread")).ToHaveTextAsync("1");
        await Expect(bob.Conversation("Review").Locator(".mention-badge")).ToHaveCountAsync(0);
        // The server counts it too: a new device of carol's badges its list from GET /api/conversations.
        await using (var laptop = await ChatPage.OpenAsync(_browser, server.Address, "carol"))
            await Expect(laptop.Conversation("Review").Locator(".mention-badge")).ToHaveAttributeAsync("aria-label", "1 mention");

        await carol.OpenConversationAsync("Review");
        await Expect(carol.Message(text).Locator(".mention.to-me")).ToHaveTextAsync("@carol");
        await Expect(carol.Message(text)).ToHaveClassAsync(new Regex(@"\bmentions-me\b"));
        await Expect(carol.Conversation("Review").Locator(".mention-badge")).ToHaveCountAsync(0);
        await bob.OpenConversationAsync("Review");
        await Expect(bob.Message(text).Locator(".mention")).ToHaveTextAsync("@carol");
        await Expect(bob.Message(text).Locator(".mention.to-me")).ToHaveCountAsync(0);
        Assert.Empty(alice.Errors);
        Assert.Empty(carol.Errors);
    }

    [Fact]
    public async Task An_edited_message_shows_edited_and_its_versions_on_click()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "Meet at 10");
        await using var _ = alice;
        await using var __ = bob;

        await alice.ActAsync("Meet at 10", "edit");
        var composer = alice.Page.GetByLabel("Message", new PageGetByLabelOptions { Exact = true });
        await Expect(composer).ToHaveValueAsync("Meet at 10");
        await composer.FillAsync("Meet at 11");
        await composer.PressAsync("Enter");

        foreach (var page in new[] { alice, bob })
        {
            await Expect(page.Texts).ToHaveTextAsync(["Meet at 11"]);
            await Expect(page.Message("Meet at 11").Locator("button.edited")).ToHaveTextAsync("edited");
        }
        await Expect(bob.Conversation("alice").Locator(".preview")).ToHaveTextAsync("Meet at 11");

        await bob.Message("Meet at 11").Locator("button.edited").ClickAsync();
        await Expect(bob.Page.Locator("#versions")).ToBeVisibleAsync();
        await Expect(bob.Page.Locator("#version-list .version-text")).ToHaveTextAsync(["Meet at 10", "Meet at 11"]);
        await Expect(bob.Page.Locator("#version-list time").First).ToContainTextAsync("Original");
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task A_recalled_message_shows_message_recalled_on_both_sides_and_after_a_reload()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "hello");
        await using var _ = alice;
        await using var __ = bob;
        await alice.SendAsync("wrong chat, sorry");
        await Expect(bob.Texts).ToHaveTextAsync(["hello", "wrong chat, sorry"]);

        await alice.ActAsync("wrong chat, sorry", "recall");

        foreach (var page in new[] { alice, bob })
        {
            await Expect(page.Texts).ToHaveTextAsync(["hello", "message recalled"]);
            await Expect(page.Page.Locator("#message-list li.message.recalled")).ToHaveCountAsync(1);
        }
        await Expect(bob.Conversation("alice").Locator(".preview")).ToHaveTextAsync("message recalled");
        await bob.Page.ReloadAsync();
        await bob.ExpectOnlineAsync();
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts).ToHaveTextAsync(["hello", "message recalled"]);
        Assert.DoesNotContain("wrong chat", await bob.Page.EvaluateAsync<string>("() => JSON.stringify(localStorage)"), StringComparison.Ordinal);
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task Reactions_show_under_the_message_and_toggle_on_click()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "Ship it?");
        await using var _ = alice;
        await using var __ = bob;

        await bob.ReactAsync("Ship it?", "👍");
        foreach (var page in new[] { alice, bob }) await Expect(page.Reaction("Ship it?", "👍").Locator(".count")).ToHaveTextAsync("1");
        await Expect(bob.Reaction("Ship it?", "👍")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(alice.Reaction("Ship it?", "👍")).ToHaveAttributeAsync("aria-pressed", "false");

        await alice.Reaction("Ship it?", "👍").ClickAsync();
        foreach (var page in new[] { alice, bob }) await Expect(page.Reaction("Ship it?", "👍").Locator(".count")).ToHaveTextAsync("2");
        await Expect(alice.Reaction("Ship it?", "👍")).ToHaveAttributeAsync("title", "bob, alice");

        await bob.Reaction("Ship it?", "👍").ClickAsync();
        foreach (var page in new[] { alice, bob })
        {
            await Expect(page.Reaction("Ship it?", "👍").Locator(".count")).ToHaveTextAsync("1");
            await Expect(page.Reaction("Ship it?", "👍")).ToHaveAttributeAsync("title", "alice");
        }
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task A_pinned_message_shows_at_the_top_of_the_conversation_and_unpinning_removes_it_live()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "The release checklist is in the wiki");
        await using var _ = alice;
        await using var __ = bob;
        await bob.SendAsync("thanks");

        await bob.ActAsync("The release checklist is in the wiki", "pin");

        foreach (var page in new[] { alice, bob })
        {
            await Expect(page.Pins).ToHaveTextAsync(["The release checklist is in the wiki"]);
            await Expect(page.Message("The release checklist is in the wiki")).ToHaveAttributeAsync("data-pinned", "true");
        }
        // A page that opens the conversation afresh has them from GET /api/conversations/{conv}/pins.
        await using var laptop = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        await laptop.OpenConversationAsync("bob");
        await Expect(laptop.Pins).ToHaveTextAsync(["The release checklist is in the wiki"]);

        await alice.ActAsync("The release checklist is in the wiki", "unpin");
        foreach (var page in new[] { alice, bob, laptop }) await Expect(page.Page.Locator("#pins")).ToBeHiddenAsync();
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task A_device_that_was_offline_converges_on_every_operation_when_it_comes_back()
    {
        await using var server = await GatewayServer.StartAsync();
        var (alice, bob) = await ChatAsync(_browser, server, "draft one");
        await using var _ = alice;
        await alice.SendAsync("to be withdrawn");
        await alice.SendAsync("pin me");
        await Expect(bob.Texts).ToHaveTextAsync(["draft one", "to be withdrawn", "pin me"]);

        // Bob's browser goes away with what it keeps (device, cursor, messages) and comes back after the operations.
        var saved = await bob.Context.StorageStateAsync();
        await bob.DisposeAsync();
        await alice.ActAsync("draft one", "edit");
        var composer = alice.Page.GetByLabel("Message", new PageGetByLabelOptions { Exact = true });
        await composer.FillAsync("final one");
        await composer.PressAsync("Enter");
        await Expect(alice.Texts).ToHaveTextAsync(["final one", "to be withdrawn", "pin me"]);
        await alice.ActAsync("to be withdrawn", "recall");
        await alice.ReactAsync("final one", "🎉");
        await alice.ActAsync("pin me", "pin");
        await Expect(alice.Pins).ToHaveTextAsync(["pin me"]);
        await Expect(alice.Reaction("final one", "🎉").Locator(".count")).ToHaveTextAsync("1");
        await Expect(alice.Texts).ToHaveTextAsync(["final one", "message recalled", "pin me"]);

        // The server's views (history, pins) would show the state anyway: without them, what the page shows comes from
        // the entries its inbox delivers, applied to what it held.
        await using var back = await ChatPage.OpenAsync(_browser, server.Address, storageState: saved, prepare: context =>
            context.RouteAsync(new Regex("/api/conversations/[^/?]+/(messages|pins)"), route => route.AbortAsync()));
        await back.ExpectOnlineAsync();
        await back.OpenConversationAsync("alice");

        await Expect(back.Texts).ToHaveTextAsync(["final one", "message recalled", "pin me"]);
        await Expect(back.Message("final one").Locator("button.edited")).ToHaveCountAsync(1);
        await Expect(back.Reaction("final one", "🎉").Locator(".count")).ToHaveTextAsync("1");
        await Expect(back.Pins).ToHaveTextAsync(["pin me"]);
        // What it applied it keeps: a reload shows the same from its own storage.
        await back.Page.ReloadAsync();
        await back.ExpectOnlineAsync();
        await back.OpenConversationAsync("alice");
        await Expect(back.Texts).ToHaveTextAsync(["final one", "message recalled", "pin me"]);
        await Expect(back.Reaction("final one", "🎉").Locator(".count")).ToHaveTextAsync("1");
        Assert.Empty(back.Errors);
        Assert.Empty(alice.Errors);
    }
}
