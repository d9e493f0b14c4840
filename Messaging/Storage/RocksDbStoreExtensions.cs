using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Push;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Storage;

/// <summary>Registers the embedded store on RocksDB: every port of it over one database in <c>Storage:Path</c>.</summary>
public static class RocksDbStoreExtensions
{
    /// <summary>
    /// Adds <see cref="RocksDbDatabase"/> (from <see cref="StorageOptions"/>), <see cref="SequenceHeads"/>, the chat store
    /// (<see cref="IChatStore"/>, <see cref="ITimelineStore"/>, <see cref="IInboxStore"/>, <see cref="IConversationIndex"/>,
    /// <see cref="ICursorStore"/>, <see cref="Operations.IMessageStateStore"/>), the group store (<see cref="IGroupStore"/>, <see cref="IUserStore"/>) and the push
    /// subscriptions. Each only where no adapter is registered for it yet, so beside another engine this adds what that
    /// engine lacks.
    /// </summary>
    public static IServiceCollection AddRocksDbChatStore(this IServiceCollection services)
    {
        services.TryAddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new RocksDbDatabase(storage.Path, storage.Synchronous == StorageSynchronous.Full);
        });
        services.TryAddSingleton<SequenceHeads>();
        services.TryAddSingleton<IChatStore, RocksDbChatStore>();
        services.TryAddSingleton<ITimelineStore, RocksDbTimelineStore>();
        services.TryAddSingleton<IInboxStore, RocksDbInboxStore>();
        services.TryAddSingleton<IConversationIndex, RocksDbConversationIndex>();
        services.TryAddSingleton<ICursorStore, RocksDbCursorStore>();
        services.TryAddSingleton<Operations.IMessageStateStore, Operations.RocksDbMessageStateStore>();
        services.TryAddSingleton<RocksDbGroupStore>();
        services.TryAddSingleton<IGroupStore>(sp => sp.GetRequiredService<RocksDbGroupStore>());
        services.TryAddSingleton<IUserStore>(sp => sp.GetRequiredService<RocksDbGroupStore>());
        services.TryAddSingleton<IPushSubscriptionStore, RocksDbPushSubscriptionStore>();
        return services;
    }
}
