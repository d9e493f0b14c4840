namespace AspireChat.Tests.Security;

/// <summary>The block checks with the stages in one batch (embedded composition).</summary>
public sealed class EmbeddedBlockEnforcementTests : BlockEnforcementTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?>();
}
