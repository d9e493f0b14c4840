using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireChat.Tests.Browser;

/// <summary>One user's web client in its own browser context (its own localStorage, so its own device).</summary>
internal sealed class ChatPage : IAsyncDisposable
{
    // Records every status each of this user's messages shows, in order, from the first moment it is on screen:
    // a send acknowledged within milliseconds still leaves its "pending" here.
    private const string StatusRecorder = """
        window.__statuses = {};
        (() => {
          const record = li => {
            if (!li.matches || !li.matches('li.message.mine')) return;
            const text = li.querySelector('.text')?.textContent;
            const status = li.dataset.status;
            if (!text || !status) return;
            const log = (window.__statuses[text] ??= []);
            if (log[log.length - 1] !== status) log.push(status);
          };
          new MutationObserver(records => {
            for (const r of records) {
              if (r.type === 'attributes') record(r.target);
              for (const node of r.addedNodes ?? []) {
                if (node.nodeType !== 1) continue;
                record(node);
                node.querySelectorAll('li.message').forEach(record);
              }
            }
          }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
        })();
        """;

    private readonly List<string> _errors = [];

    private ChatPage(IBrowserContext context, IPage page)
    {
        (Context, Page) = (context, page);
        // Uncaught exceptions only: a failed socket or a 404 of an optional API logs console errors by design.
        page.PageError += (_, error) => { lock (_errors) _errors.Add(error); };
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    /// <summary>
    /// Opens the client from <paramref name="server"/> in a new context — with a saved <paramref name="storageState"/>
    /// it is the same device coming back — and signs in <paramref name="user"/> when given.
    /// </summary>
    public static async Task<ChatPage> OpenAsync(IBrowser browser, Uri server, string? user = null, string? storageState = null,
        Func<IBrowserContext, Task>? prepare = null)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.ToString(),
            StorageState = storageState,
            ViewportSize = new ViewportSize { Width = 1100, Height = 720 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        await context.AddInitScriptAsync(StatusRecorder);
        if (prepare is not null) await prepare(context);
        var page = await context.NewPageAsync();
        var chat = new ChatPage(context, page);
        await page.GotoAsync("/");
        if (user is not null) await chat.SignInAsync(user);
        return chat;
    }

    public ILocator Connection => Page.Locator("#connection");

    /// <summary>The texts of the open conversation's chat messages, top to bottom.</summary>
    public ILocator Texts => Page.Locator("#message-list li.message .text");

    public ILocator SystemLines => Page.Locator("#message-list li.system");

    public ILocator Members => Page.Locator("#member-list li");

    public ILocator Message(string text) =>
        Page.Locator("#message-list li.message").Filter(new LocatorFilterOptions
        {
            Has = Page.Locator(".text", new PageLocatorOptions { HasTextRegex = new Regex($"^{Regex.Escape(text)}$") }),
        });

    public ILocator Conversation(string title) =>
        Page.Locator("#conversations button.conv").Filter(new LocatorFilterOptions
        {
            Has = Page.Locator(".title", new PageLocatorOptions { HasTextRegex = new Regex($"^{Regex.Escape(title)}$") }),
        });

    public async Task SignInAsync(string user)
    {
        await Page.GetByLabel("User id", new PageGetByLabelOptions { Exact = true }).FillAsync(user);
        await Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in", Exact = true }).ClickAsync();
        await ExpectOnlineAsync();
    }

    public Task ExpectOnlineAsync() => Expect(Connection).ToHaveAttributeAsync("data-state", "online");

    public async Task OpenChatWithAsync(string user)
    {
        await Page.GetByLabel("Chat with user", new PageGetByLabelOptions { Exact = true }).FillAsync(user);
        await Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Open", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#conversation-title")).ToHaveTextAsync(user);
    }

    public async Task OpenConversationAsync(string title)
    {
        await Conversation(title).ClickAsync();
        await Expect(Page.Locator("#conversation-title")).ToHaveTextAsync(title);
    }

    public async Task CreateGroupAsync(string name, params string[] members)
    {
        await Page.GetByText("New group", new PageGetByTextOptions { Exact = true }).ClickAsync();
        await Page.GetByLabel("Group name", new PageGetByLabelOptions { Exact = true }).FillAsync(name);
        await Page.GetByLabel("Invite members", new PageGetByLabelOptions { Exact = true }).FillAsync(string.Join(", ", members));
        await Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Create group", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#conversation-title")).ToHaveTextAsync(name);
    }

    /// <summary>Types into the composer and presses Enter (keyboard send).</summary>
    public async Task SendAsync(string text)
    {
        var composer = Page.GetByLabel("Message", new PageGetByLabelOptions { Exact = true });
        await composer.FillAsync(text);
        await composer.PressAsync("Enter");
        await Expect(Message(text)).ToHaveCountAsync(1);
    }

    /// <summary>
    /// Clicks one of a message's actions (<c>reply</c>, <c>react</c>, <c>edit</c>, <c>recall</c>, <c>pin</c>,
    /// <c>unpin</c>): they show while the message is hovered, as for a person with a mouse.
    /// </summary>
    public async Task ActAsync(string text, string action)
    {
        var message = Message(text);
        await message.Locator(".bubble").HoverAsync();
        await message.Locator($"button[data-action='{action}']").ClickAsync();
    }

    /// <summary>The reaction chip <paramref name="emoji"/> under a message.</summary>
    public ILocator Reaction(string text, string emoji) => Message(text).Locator($".reaction[data-emoji='{emoji}']");

    /// <summary>Reacts with <paramref name="emoji"/> through the message's picker.</summary>
    public async Task ReactAsync(string text, string emoji)
    {
        await ActAsync(text, "react");
        await Message(text).Locator($".emoji-picker button[data-pick='{emoji}']").ClickAsync();
    }

    /// <summary>The pinned messages above the open conversation, most recently pinned first.</summary>
    public ILocator Pins => Page.Locator("#pins .pin-item .pin-text");

    /// <summary>Every status the message showed since it appeared, e.g. ["pending", "sent"].</summary>
    public Task<string[]> StatusHistoryAsync(string text) =>
        Page.EvaluateAsync<string[]>("text => window.__statuses[text] ?? []", text);

    /// <summary>Uncaught exceptions in the page's scripts.</summary>
    public IReadOnlyList<string> Errors
    {
        get { lock (_errors) return [.. _errors]; }
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
