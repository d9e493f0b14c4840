using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Push;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AspireChat.Messaging.Storage;

/// <summary>Registers the SQLite store (the file the services of the stand-in topology share): every port of it over one file.</summary>
public static class SqliteStoreExtensions
{
    /// <summary>
    /// Adds <see cref="SqliteDatabase"/> on <paramref name="connectionString"/>, <see cref="SequenceHeads"/>, one
    /// <see cref="SqliteChatStore"/> as <see cref="IChatStore"/> and every narrow chat port, the group store
    /// (<see cref="IGroupStore"/>, <see cref="IUserStore"/>) and the push subscriptions — each where none is registered yet.
    /// </summary>
    public static IServiceCollection AddSqliteChatStore(this IServiceCollection services, string connectionString)
    {
        services.TryAddSingleton(sp => new SqliteDatabase(connectionString, sp.GetRequiredService<IOptions<StorageOptions>>().Value.Synchronous == StorageSynchronous.Full));
        services.TryAddSingleton<SequenceHeads>();
        services.TryAddSingleton<SqliteChatStore>();
        services.TryAddSingleton<IChatStore>(sp => sp.GetRequiredService<SqliteChatStore>());
        services.TryAddSingleton<ITimelineStore>(sp => sp.GetRequiredService<SqliteChatStore>());
        services.TryAddSingleton<IInboxStore>(sp => sp.GetRequiredService<SqliteChatStore>());
        services.TryAddSingleton<IConversationIndex>(sp => sp.GetRequiredService<SqliteChatStore>());
        services.TryAddSingleton<ICursorStore>(sp => sp.GetRequiredService<SqliteChatStore>());
        services.TryAddSingleton<SqliteGroupStore>();
        services.TryAddSingleton<IGroupStore>(sp => sp.GetRequiredService<SqliteGroupStore>());
        services.TryAddSingleton<IUserStore>(sp => sp.GetRequiredService<SqliteGroupStore>());
        services.TryAddSingleton<IPushSubscriptionStore, SqlitePushSubscriptionStore>();
        return services;
    }
}
