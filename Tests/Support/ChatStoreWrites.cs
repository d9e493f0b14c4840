using AspireChat.Messaging;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Support;

/// <summary>The pipeline's writes one at a time, for tests: each through a batch of its own, committed before it returns.</summary>
internal static class ChatStoreWrites
{
    public static Task<IReadOnlyList<SendRecord>> ReserveSendsAsync(this IChatStore store, IReadOnlyList<SendRecord> candidates) =>
        InBatchAsync(store, batch => batch.ReserveSendsAsync(candidates));

    public static Task<IReadOnlyList<SendRecord?>> FindSendsAsync(this IChatStore store, IReadOnlyList<SendRecord> keys) =>
        InBatchAsync(store, batch => batch.FindSendsAsync(keys));

    public static Task<IReadOnlyList<ChatMessage>> AppendMessagesAsync(this IChatStore store, IReadOnlyList<MessageAccepted> accepted) =>
        InBatchAsync(store, batch => batch.AppendMessagesAsync(accepted));

    public static Task<IReadOnlyList<InboxEntry>> AppendInboxAsync(this IChatStore store, IReadOnlyList<InboxAppend> appends) =>
        InBatchAsync(store, batch => batch.AppendInboxAsync(appends));

    public static Task<bool> UpdateConversationsAsync(this IChatStore store, IReadOnlyList<InboxAppend> appends) =>
        InBatchAsync(store, async batch =>
        {
            await batch.UpdateConversationsAsync(appends);
            return true;
        });

    public static Task<bool> PutMessageStatesAsync(this IChatStore store, IReadOnlyList<Messaging.Operations.MessageState> states) =>
        InBatchAsync(store, async batch =>
        {
            await batch.PutMessageStatesAsync(states);
            return true;
        });

    public static Task<bool> ReplaceContentAsync(this IChatStore store, IReadOnlyList<ChatMessage> messages) =>
        InBatchAsync(store, async batch =>
        {
            await batch.ReplaceContentAsync(messages);
            return true;
        });

    private static async Task<T> InBatchAsync<T>(IChatStore store, Func<IChatStoreBatch, ValueTask<T>> write)
    {
        using var batch = store.BeginBatch();
        var result = await write(batch);
        await batch.CommitAsync();
        return result;
    }
}
