using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// The sequence heads under a moving log partition (<see cref="SequenceHeads"/>): two workers — two store instances, each
/// with its own heads, over one database — hand a conversation's (or a user's) partition W1 → W2 → W1 while both keep
/// appending. A worker forgets its heads when a partition is released, as the stages do on the log's word; one that kept
/// a stale head would count from it when the partition came back.
/// </summary>
public abstract class SequenceHeadsContract(IChatStoreEngine engine) : ChatStoreContractBase(engine)
{
    private const int Rounds = 6;

    [SkippableFact]
    public async Task A_conversation_moved_to_another_worker_and_back_while_both_keep_appending_keeps_contiguous_cseqs()
    {
        var (w1, w2) = (await OpenStoreAsync(), await OpenStoreAsync());
        var (moving, ownOf1, ownOf2) = (Conversation("moving"), Conversation("own-1"), Conversation("own-2"));
        var ids = new List<long>();

        async Task PhaseAsync(ChatStorePorts owner)
        {
            // The owner of the moving conversation appends to it and to its own; the other worker to its own, at the same time.
            var withMoving = Task.Run(async () =>
            {
                for (var i = 0; i < Rounds; i++)
                {
                    var message = Accepted(moving);
                    ids.Add(message.Id);
                    await owner.AppendMessagesAsync([message, Accepted(owner == w1 ? ownOf1 : ownOf2)]);
                }
            });
            var other = owner == w1 ? w2 : w1;
            var alongside = Task.Run(async () =>
            {
                for (var i = 0; i < Rounds; i++) await other.AppendMessagesAsync([Accepted(other == w1 ? ownOf1 : ownOf2)]);
            });
            await Task.WhenAll(withMoving, alongside);
        }

        await PhaseAsync(w1);
        w1.Heads.Conversations.Forget(); // chat.accepted's partition revoked from W1, assigned to W2
        await PhaseAsync(w2);
        w2.Heads.Conversations.Forget(); // and back
        await PhaseAsync(w1);

        var stored = await w1.ReadConversationAsync(moving, null, null, 100);
        Assert.Equal(Enumerable.Range(1, 3 * Rounds).Select(i => (long)i), stored.Select(m => m.Cseq));
        Assert.Equal(ids, stored.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(1, 3 * Rounds).Select(i => (long)i), (await w2.ReadConversationAsync(ownOf1, null, null, 100)).Select(m => m.Cseq));
        Assert.Equal(Enumerable.Range(1, 3 * Rounds).Select(i => (long)i), (await w1.ReadConversationAsync(ownOf2, null, null, 100)).Select(m => m.Cseq));
    }

    [SkippableFact]
    public async Task An_inbox_moved_to_another_worker_and_back_while_both_keep_appending_keeps_contiguous_seqs()
    {
        var (w1, w2) = (await OpenStoreAsync(), await OpenStoreAsync());
        var (moving, ownOf1, ownOf2) = (User("moving"), User("own-1"), User("own-2"));
        var messages = await w1.AppendMessagesAsync([.. Enumerable.Range(0, 3 * Rounds).Select(_ => Accepted(Conversation("inbox-moves")))]);
        var next = 0;

        async Task PhaseAsync(ChatStorePorts owner)
        {
            var other = owner == w1 ? w2 : w1;
            var withMoving = Task.Run(async () =>
            {
                for (var i = 0; i < Rounds; i++)
                {
                    var message = messages[next++];
                    await owner.AppendInboxAsync([To(moving, message), To(owner == w1 ? ownOf1 : ownOf2, message)]);
                }
            });
            var alongside = Task.Run(async () =>
            {
                for (var i = 0; i < Rounds; i++) await other.AppendInboxAsync([To(other == w1 ? ownOf1 : ownOf2, messages[i])]);
            });
            await Task.WhenAll(withMoving, alongside);
        }

        await PhaseAsync(w1);
        w1.Heads.Inboxes.Forget(); // chat.inbox's partition revoked from W1, assigned to W2
        await PhaseAsync(w2);
        w2.Heads.Inboxes.Forget(); // and back
        await PhaseAsync(w1);

        var entries = await w2.ReadInboxAsync(moving, 0, 100);
        Assert.Equal(Enumerable.Range(1, 3 * Rounds).Select(i => (long)i), entries.Select(e => e.Seq));
        Assert.Equal(messages.Select(m => m.Id), entries.Select(e => e.Message.Id));
        Assert.Equal(3 * Rounds, await w2.GetInboxHeadAsync(moving));
    }
}
