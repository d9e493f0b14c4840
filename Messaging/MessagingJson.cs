using System.Text.Json.Serialization;
using AspireChat.Messaging.Delivery;

namespace AspireChat.Messaging;

/// <summary>Source-generated JSON for the records that travel through the message log and between nodes, and the embedded store's records.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(MessageAccepted))]
[JsonSerializable(typeof(ChatMessage))]
[JsonSerializable(typeof(InboxAppend))]
[JsonSerializable(typeof(PushRequested))]
[JsonSerializable(typeof(Groups.GroupRecord))]
[JsonSerializable(typeof(Groups.GroupMember))]
[JsonSerializable(typeof(Push.PushSubscription))]
[JsonSerializable(typeof(RoutedEntries))]
[JsonSerializable(typeof(GroupNotice))]
[JsonSerializable(typeof(DeviceSignal))]
[JsonSerializable(typeof(Operations.MessageState))]
public sealed partial class MessagingJson : JsonSerializerContext;
