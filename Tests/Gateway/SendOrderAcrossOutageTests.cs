using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Gateway;

/// <summary>
/// A send refused because the message log failed is not overtaken by the sends pipelined behind it: they are refused
/// too until it is retransmitted and taken, so the recipient sees the sender's order (docs/protocol.md §8.1, §9).
/// </summary>
public sealed class SendOrderAcrossOutageTests
{
    [Fact]
    public async Task Sends_pipelined_behind_one_the_log_refused_are_held_back_until_it_is_retransmitted_and_the_recipient_sees_the_sender_order()
    {
        var log = new SwitchedLog();
        await using var server = await GatewayServer.StartAsync(
            new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" },
            configure: builder => builder.Services.AddSingleton<IMessageLog>(sp => log.Over(new InMemoryMessageLog(sp.GetRequiredService<ILogger<InMemoryMessageLog>>()))));
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");

        log.Down = true;
        await alice.SendChatAsync(1, "bob", "first");
        Assert.Equal("unavailable", (await alice.ExpectAsync("error")).GetProperty("code").GetString());
        log.Down = false;
        // Pipelined behind the refused one, before its sender could retransmit it.
        await alice.SendChatAsync(2, "bob", "second");
        var heldBack = await alice.ExpectAsync("error");
        Assert.Equal(("unavailable", 2L), (heldBack.GetProperty("code").GetString(), heldBack.GetProperty("req").GetInt64()));

        // The sender retransmits in req order: both are taken, and bob sees them in that order.
        await alice.SendChatAsync(1, "bob", "first");
        await alice.ExpectAsync("ack");
        await alice.SendChatAsync(2, "bob", "second");
        await alice.ExpectAsync("ack");
        var texts = (await bob.ExpectManyAsync("msg", 2)).Select(m => m.GetProperty("body").GetProperty("text").GetString());
        Assert.Equal(["first", "second"], texts);
    }

    /// <summary>The in-process log, except that while <see cref="Down"/> every append fails as an unreachable broker's would.</summary>
    private sealed class SwitchedLog
    {
        public volatile bool Down;

        public IMessageLog Over(IMessageLog inner) => new Switched(inner, this);

        private sealed class Switched(IMessageLog inner, SwitchedLog owner) : IMessageLog
        {
            public ValueTask AppendAsync<T>(LogTopic<T> topic, IReadOnlyList<T> records, CancellationToken cancellationToken = default) =>
                owner.Down && topic.Name == LogTopics.Accepted.Name
                    ? ValueTask.FromException(new MessageLogException("the log is unreachable"))
                    : inner.AppendAsync(topic, records, cancellationToken);

            public Task ConsumeAsync<T>(LogTopic<T> topic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken) =>
                inner.ConsumeAsync(topic, group, handler, cancellationToken);
        }
    }
}
