using System.Text.Json.Serialization;

namespace AspireChat.Messaging;

/// <summary>Source-generated JSON for the records that travel through the message log.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(MessageAccepted))]
[JsonSerializable(typeof(ChatMessage))]
[JsonSerializable(typeof(InboxAppend))]
[JsonSerializable(typeof(PushRequested))]
public sealed partial class MessagingJson : JsonSerializerContext;
