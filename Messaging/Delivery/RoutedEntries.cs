namespace AspireChat.Messaging.Delivery;

/// <summary>
/// Inbox entries for one device on a gateway node, as they travel on the node's channel; <paramref name="Traces"/> holds
/// each entry's W3C <c>traceparent</c> (null for an entry without a trace), so the gateway's push continues the message's trace.
/// </summary>
public sealed record RoutedEntries(string User, string Device, IReadOnlyList<InboxEntry> Entries, bool Redelivery = false, IReadOnlyList<string?>? Traces = null);
