using AspireChat.Tests.Support;
using Microsoft.Extensions.Options;

namespace AspireChat.Tests.Gateway;

/// <summary><c>Gateway:*</c> settings are validated when the server starts, not when the first connection trips over them.</summary>
public sealed class GatewayOptionsTests
{
    [Theory]
    [InlineData("Gateway:MaxQueuedBytes", "1000")]
    [InlineData("Gateway:HelloTimeout", "00:00:00")]
    public async Task A_gateway_with_an_unusable_setting_refuses_to_start_and_names_the_setting(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(key.Split(':')[1], error.Message);
    }
}
