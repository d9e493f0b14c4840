namespace AspireChat.Messaging.Delivery;

/// <summary>Inbox entries for one device on a gateway node, as they travel on the node's channel.</summary>
public sealed record RoutedEntries(string User, string Device, IReadOnlyList<InboxEntry> Entries, bool Redelivery = false);
