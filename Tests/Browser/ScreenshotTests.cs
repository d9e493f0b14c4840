using System.Text.Json;
using System.Text.RegularExpressions;
using AspireChat.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>
/// The picture of the web client in the README (docs/images/web-client.png) comes from this run: sent, seen and
/// not-yet-sent messages, a reply with its quote, a pinned message, reactions, an edited and a recalled message, and
/// a group with unread messages that mention the user.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ScreenshotTests(Chromium chromium)
{
    /// <summary>Where the screenshot is written: <c>ASPIRECHAT_SCREENSHOTS</c>, else <c>screenshots/</c> beside the tests.</summary>
    private static string Folder => Environment.GetEnvironmentVariable("ASPIRECHAT_SCREENSHOTS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task A_conversation_is_captured_for_the_readme()
    {
        await using var server = await GatewayServer.StartAsync();
        // Alice's last message never gets its ack (the route loses it), to show the "not sent yet" display beside sent ones.
        const string unacknowledged = "Tagging v1.0 now";
        var unacknowledgedReqs = new HashSet<long>();
        await using var alice = await ChatPage.OpenAsync(chromium.Browser, server.Address, prepare: context =>
            context.RouteWebSocketAsync(new Regex("/ws$"), page =>
            {
                var upstream = page.ConnectToServer();
                page.OnMessage(frame =>
                {
                    var json = JsonDocument.Parse(frame.Text!).RootElement;
                    if (json.GetProperty("t").GetString() == "send" && json.GetProperty("body").GetProperty("text").GetString() == unacknowledged)
                        lock (unacknowledgedReqs) unacknowledgedReqs.Add(json.GetProperty("req").GetInt64());
                    upstream.Send(frame.Text!);
                });
                upstream.OnMessage(frame =>
                {
                    var json = JsonDocument.Parse(frame.Text!).RootElement;
                    if (json.GetProperty("t").GetString() == "ack" && json.TryGetProperty("req", out var req))
                        lock (unacknowledgedReqs) if (unacknowledgedReqs.Contains(req.GetInt64())) return;
                    page.Send(frame.Text!);
                });
            }));
        await alice.SignInAsync("alice");
        await using var bob = await ChatPage.OpenAsync(chromium.Browser, server.Address, "bob");
        await using var carol = await ChatPage.OpenAsync(chromium.Browser, server.Address, "carol");

        await bob.CreateGroupAsync("Release 1.0", "alice", "carol");
        await Expect(bob.Members).ToHaveCountAsync(3);
        await bob.SendAsync("Release candidate is tagged — @alice please test the web client today.");
        await carol.OpenConversationAsync("Release 1.0");
        await carol.SendAsync("On it after lunch.");

        await alice.OpenChatWithAsync("bob");
        await alice.SendAsync("Hi Bob! Did the reconnect fix land?");
        await bob.OpenConversationAsync("alice");
        const string promise = "Yes @alice — the client retransmits with the same req, so nothing is sent twice.";
        await bob.SendAsync(promise);
        await alice.ActAsync(promise, "reply");
        await alice.SendAsync("Great. I restarted the server mid-send and every message arrived exactly once.");
        const string durable = "That is the promise: acknowledged means durable, and never shown twice.";
        await bob.SendAsync(durable);
        await bob.ActAsync(durable, "pin");
        await alice.ReactAsync(durable, "👍");
        await bob.ReactAsync(durable, "👍");
        await alice.ReactAsync(durable, "🎉");
        await bob.SendAsync("Sent to the wrong chat, sorry");
        await bob.ActAsync("Sent to the wrong chat, sorry", "recall");
        await alice.SendAsync("Let's ship it on Friday.");
        await alice.ActAsync("Let's ship it on Friday.", "edit");
        var composer = alice.Page.Locator("#composer-text");
        await composer.FillAsync("Let's ship it on Thursday.");
        await composer.PressAsync("Enter");

        await Expect(alice.Message("Let's ship it on Thursday.")).ToHaveAttributeAsync("data-status", "sent");
        await Expect(alice.Message("Let's ship it on Thursday.").Locator("button.edited")).ToHaveCountAsync(1);
        await Expect(alice.Reaction(durable, "👍").Locator(".count")).ToHaveTextAsync("2");
        await Expect(alice.Pins).ToHaveTextAsync([durable]);
        await Expect(alice.Page.Locator("#message-list li.message.recalled")).ToHaveCountAsync(1);
        await Expect(alice.Conversation("Release 1.0").Locator(".unread")).ToHaveTextAsync("2");
        await Expect(alice.Conversation("Release 1.0").Locator(".mention-badge")).ToHaveCountAsync(1);
        await alice.SendAsync(unacknowledged);
        await Expect(alice.Message(unacknowledged)).ToHaveAttributeAsync("data-status", "failed");
        await composer.FillAsync("Ready when you are");
        await composer.BlurAsync();
        await alice.Page.Mouse.MoveAsync(0, 0);

        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, "web-client.png");
        await alice.Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        Assert.True(new FileInfo(path).Length > 10_000, $"{path} looks empty");
    }
}
