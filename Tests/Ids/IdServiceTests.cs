using System.Net;
using AspireChat.Messaging.Ids;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Tests.Ids;

public sealed class IdServiceTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Services.AddSingleton<IIdGenerator>(new SnowflakeIdGenerator(new SnowflakeOptions { WorkerId = 7 }, TimeProvider.System));
        _app = builder.Build();
        _app.MapIdEndpoints();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Remote_generator_hands_out_unique_ascending_ids_across_prefetched_blocks()
    {
        var generator = new HttpIdGenerator(_http, blockSize: 500);
        var all = new List<long>();
        for (var call = 0; call < 3; call++)
        {
            var ids = new long[700];
            await generator.NextIdsAsync(ids);
            all.AddRange(ids);
        }
        Assert.Equal(2100, all.Distinct().Count());
        Assert.Equal(all.Order(), all);
        Assert.All(all, id => Assert.Equal(7, SnowflakeId.Decompose(id).WorkerId));
    }

    [Theory]
    [InlineData("/ids?count=0")]
    [InlineData("/ids?count=4097")]
    [InlineData("/ids?count=many")]
    public async Task Batch_size_outside_the_limits_is_400(string url)
    {
        using var response = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Ids_are_decimal_strings()
    {
        var json = await _http.GetStringAsync("/ids?count=2");
        Assert.Matches("""^\{"ids":\["\d+","\d+"\]\}$""", json);
    }
}
