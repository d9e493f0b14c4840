using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>The web client the Gateway serves at <c>/</c>, driven in headless Chromium against a real embedded Gateway.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WebClientTests(Chromium chromium)
{
    private readonly IBrowser _browser = chromium.Browser;

    [Fact]
    public async Task Two_users_exchange_messages_both_ways_and_the_sender_sees_pending_then_sent()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");

        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync("Hi Bob, lunch at noon?");
        await Expect(alice.Message("Hi Bob, lunch at noon?")).ToHaveAttributeAsync("data-status", "sent");
        Assert.Equal(["pending", "sent"], await alice.StatusHistoryAsync("Hi Bob, lunch at noon?"));

        // Bob has not opened the conversation: it appears in his list with one unread message.
        await Expect(bob.Conversation("alice").Locator(".unread")).ToHaveTextAsync("1");
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Conversation("alice").Locator(".unread")).ToHaveCountAsync(0);
        await Expect(bob.Texts).ToHaveTextAsync(["Hi Bob, lunch at noon?"]);
        await Expect(bob.Message("Hi Bob, lunch at noon?")).Not.ToHaveAttributeAsync("data-status", new Regex("."));

        await bob.SendAsync("Sure — see you there");
        await Expect(bob.Message("Sure — see you there")).ToHaveAttributeAsync("data-status", "sent");
        Assert.Equal(["pending", "sent"], await bob.StatusHistoryAsync("Sure — see you there"));

        string[] conversation = ["Hi Bob, lunch at noon?", "Sure — see you there"];
        await Expect(alice.Texts).ToHaveTextAsync(conversation);
        await Expect(bob.Texts).ToHaveTextAsync(conversation);

        // Snowflake ids exceed 2^53: they stay the server's decimal strings, digit for digit, on both sides.
        var ids = await ServerIdsAsync(server, "alice", "s:alice:bob");
        Assert.All(ids, id => Assert.True(long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) > (1L << 53)));
        foreach (var page in new[] { alice, bob })
            Assert.Equal(ids, await page.Page.Locator("#message-list li.message").EvaluateAllAsync<string[]>("items => items.map(li => li.dataset.id)"));
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);
    }

    [Theory]
    [InlineData(500)] // a small group: every member gets each message through its inbox (seq)
    [InlineData(2)]   // a large group: read diffusion, messages arrive without seq and are deduplicated by (conv, cseq)
    public async Task A_group_of_three_exchanges_messages_and_every_member_sees_one_order(int writeDiffusionLimit)
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Groups:WriteDiffusionLimit"] = writeDiffusionLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await using var alice = await ChatPage.OpenAsync(_browser, server.Address, "alice");
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await using var carol = await ChatPage.OpenAsync(_browser, server.Address, "carol");

        await alice.CreateGroupAsync("Weekend trip", "bob", "carol");
        await Expect(alice.Members).ToHaveTextAsync([new Regex("^alice \\(owner\\)"), new Regex("^bob$"), new Regex("^carol$")]);
        await Expect(alice.SystemLines).ToHaveTextAsync(["alice created the group “Weekend trip” with bob, carol"]);

        await bob.OpenConversationAsync("Weekend trip");
        await carol.OpenConversationAsync("Weekend trip");
        await Expect(bob.Members).ToHaveCountAsync(3);
        await Expect(carol.SystemLines).ToHaveTextAsync(["alice created the group “Weekend trip” with bob, carol"]);

        var pages = new[] { alice, bob, carol };
        var said = new List<string>();
        foreach (var (page, text) in new[] { (alice, "Who brings the tent?"), (bob, "I have one"), (carol, "I'll bring food"), (alice, "Great, Saturday 9:00") })
        {
            await page.SendAsync(text);
            await Expect(page.Message(text)).ToHaveAttributeAsync("data-status", "sent");
            said.Add(text);
            foreach (var member in pages) await Expect(member.Texts).ToHaveTextAsync(said);
        }

        // Each member's view is the group's timeline: the same messages, once each, in cseq order.
        foreach (var member in pages)
        {
            var cseqs = await member.Page.Locator("#message-list li[data-cseq]").EvaluateAllAsync<long[]>("items => items.map(li => Number(li.dataset.cseq))");
            Assert.Equal(cseqs.Order(), cseqs);
            Assert.Equal(cseqs.Length, cseqs.Distinct().Count());
            Assert.Empty(member.Errors);
        }
    }

    [Fact]
    public async Task History_scrolls_back_through_the_history_api_to_the_first_message()
    {
        await using var server = await GatewayServer.StartAsync();
        const int count = 160;
        await using (var alice = await server.ConnectAsync("alice"))
        {
            for (var req = 1; req <= count; req++) await alice.SendChatAsync(req, "bob", $"message {req}");
            await alice.ExpectManyAsync("ack", count);
        }

        // A browser bob never used: it reads his recent inbox, then older pages of the conversation on scroll-back.
        await using var bob = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        await bob.OpenConversationAsync("alice");
        await Expect(bob.Texts.Last).ToHaveTextAsync($"message {count}");
        var loadEarlier = bob.Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Load earlier messages" });
        await Expect(loadEarlier).ToBeVisibleAsync();

        while (await bob.Texts.CountAsync() < count)
        {
            var before = await bob.Texts.CountAsync();
            await bob.Page.Locator("#messages").EvaluateAsync("box => box.scrollTop = 0");
            await Expect(bob.Texts).Not.ToHaveCountAsync(before);
        }
        await Expect(bob.Texts).ToHaveTextAsync(Enumerable.Range(1, count).Select(i => $"message {i}"));
        await Expect(loadEarlier).ToBeHiddenAsync();
        Assert.Empty(bob.Errors);
    }

    [Fact]
    public async Task Presence_dots_and_notifications_appear_only_when_the_server_offers_them()
    {
        await using var server = await GatewayServer.StartAsync();

        // A server without a presence API or VAPID keys (both 404, stood in for by routes): no dots, no button, no error.
        await using var plain = await ChatPage.OpenAsync(_browser, server.Address, prepare: async context =>
        {
            await context.RouteAsync(new Regex("/api/presence\\?"), route => route.FulfillAsync(new RouteFulfillOptions { Status = 404 }));
            await context.RouteAsync(new Regex("/api/push/vapid$"), route => route.FulfillAsync(new RouteFulfillOptions { Status = 404 }));
        });
        await plain.SignInAsync("alice");
        await plain.OpenChatWithAsync("bob");
        await Expect(plain.Conversation("bob").Locator(".presence.online, .presence.offline")).ToHaveCountAsync(0);
        await Expect(plain.Page.Locator("#notifications")).ToBeHiddenAsync();
        await Expect(plain.Page.Locator("#problem")).ToBeHiddenAsync();

        // This Gateway offers both: bob is online (his page is open), carol is not, and Web Push has VAPID keys. Presence is
        // answered only about users who share a conversation with the asker: dave shares a group with both.
        await server.CreateGroupAsync("dave", "bob", "carol");
        await using var bobPage = await ChatPage.OpenAsync(_browser, server.Address, "bob");
        var presenceQueries = new List<string>();
        await using var offered = await ChatPage.OpenAsync(_browser, server.Address, prepare: context =>
            context.RouteAsync(new Regex("/api/presence\\?"), async route =>
            {
                lock (presenceQueries) presenceQueries.Add(new Uri(route.Request.Url).Query);
                await route.ContinueAsync();
            }));
        await offered.SignInAsync("dave");
        await offered.OpenChatWithAsync("carol");
        await offered.OpenChatWithAsync("bob");
        await Expect(offered.Conversation("bob").Locator(".presence.online")).ToHaveCountAsync(1);
        await Expect(offered.Conversation("carol").Locator(".presence.offline")).ToHaveCountAsync(1);
        await Expect(offered.Page.Locator("#conversation-subtitle")).ToHaveTextAsync(new Regex("online"));
        await Expect(offered.Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Enable notifications" })).ToBeVisibleAsync();
        lock (presenceQueries) Assert.Contains(presenceQueries, q => q.Contains("bob", StringComparison.Ordinal));
        Assert.Empty(plain.Errors);
        Assert.Empty(offered.Errors);
    }

    internal static async Task<List<string>> ServerIdsAsync(GatewayServer server, string user, string conv)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, $"/api/conversations/{conv}/messages?limit=200");
        response.EnsureSuccessStatusCode();
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];
    }

    /// <summary>The conversation's messages as the server's history API has them (the source of truth for "no duplicate").</summary>
    internal static async Task<List<string>> ServerHistoryAsync(GatewayServer server, string user, string conv)
    {
        using var response = await server.RequestAsync(user, HttpMethod.Get, $"/api/conversations/{conv}/messages?limit=200");
        response.EnsureSuccessStatusCode();
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. page.GetProperty("items").EnumerateArray()
            .Where(m => m.GetProperty("type").GetInt32() >= 0)
            .Select(m => m.GetProperty("body").GetProperty("text").GetString()!)];
    }
}
