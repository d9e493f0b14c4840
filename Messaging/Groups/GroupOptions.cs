namespace AspireChat.Messaging.Groups;

/// <summary><c>Groups:*</c> settings.</summary>
public sealed class GroupOptions
{
    /// <summary>Groups with at most this many members get inbox copies (write diffusion); larger ones read diffusion.</summary>
    public int WriteDiffusionLimit { get; set; } = 500;
    /// <summary>Most members a group may have.</summary>
    public int MaxMembers { get; set; } = 100_000;
    /// <summary>Most messages pushed per large group after <c>hello</c>; the client continues with <c>gsync</c>.</summary>
    public int HelloPage { get; set; } = 100;
    /// <summary>
    /// Most bytes of large-group messages one hello's catch-up writes, over all the user's large groups; a page cut short
    /// leaves a gap the client fills with <c>gsync</c>, as after any page.
    /// </summary>
    public int HelloCatchUpBytes { get; set; } = 1024 * 1024;
    /// <summary>Most users one create or add request may name (<c>400</c> past it): a group grows in steps the store and stage 1 take in stride.</summary>
    public int MaxAddPerRequest { get; set; } = 500;
    /// <summary>Most groups one user may create in any hour (<c>429</c> past it); counted in the store, so across gateway nodes.</summary>
    public int MaxCreatedPerHour { get; set; } = 50;
    /// <summary>Most members stage 1 keeps in its cache of group member maps, over all groups; the least recently used groups go first.</summary>
    public int MemberCacheSize { get; set; } = 200_000;
}
