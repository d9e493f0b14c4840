using AspireChat.Tests.Support;
using Microsoft.Extensions.Options;

namespace AspireChat.Tests.Gateway;

/// <summary>Settings (<c>Gateway:*</c> and the pipeline's) are validated when the server starts, not when the first connection trips over them.</summary>
public sealed class GatewayOptionsTests
{
    [Theory]
    [InlineData("Gateway:MaxQueuedBytes", "1000")]
    [InlineData("Gateway:HelloTimeout", "00:00:00")]
    [InlineData("Delivery:Window", "0")]
    [InlineData("Delivery:AckTimeout", "-00:00:01")]
    [InlineData("Limits:MaxBodyBytes", "70000")]
    [InlineData("Limits:SendsPerSecond", "0")]
    [InlineData("Groups:HelloPage", "501")]
    [InlineData("Groups:WriteDiffusionLimit", "0")]
    [InlineData("Presence:NodeTtl", "00:00:01")]
    [InlineData("Snowflake:WorkerId", "1024")]
    public async Task A_gateway_with_an_unusable_setting_refuses_to_start_and_names_the_setting(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(key.Split(':')[1], error.Message);
    }
}
