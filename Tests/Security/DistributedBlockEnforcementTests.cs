namespace AspireChat.Tests.Security;

/// <summary>The block checks with the stages as consumers of the (in-process) message log, as the DeliveryWorkers run them.</summary>
public sealed class DistributedBlockEnforcementTests : BlockEnforcementTests
{
    protected override IDictionary<string, string?> Composition => new Dictionary<string, string?> { ["Pipeline:Composition"] = "Distributed" };
}
