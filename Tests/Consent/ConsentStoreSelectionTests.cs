using AspireChat.Messaging.Consent;
using AspireChat.Messaging.Hosting;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AspireChat.Tests.Consent;

/// <summary>The consent store lives in whichever store the host's configuration picks for the chat store (docs/configuration.md).</summary>
public sealed class ConsentStoreSelectionTests
{
    [Theory]
    [InlineData(null, false, typeof(RocksDbConsentStore))]
    [InlineData(null, true, typeof(PostgresConsentStore))]
    [InlineData("mongodb://127.0.0.1:1/history?serverSelectionTimeoutMS=200", false, typeof(MongoConsentStore))]
    [InlineData("mongodb://127.0.0.1:1/history?serverSelectionTimeoutMS=200", true, typeof(PostgresConsentStore))]
    public async Task The_consent_store_follows_the_chat_store(string? mongo, bool postgres, Type expected)
    {
        var directory = TempDirectory.Create();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?> { ["Storage:Path"] = Path.Combine(directory, "store") };
        if (postgres) settings["ConnectionStrings:postgres"] = "Host=127.0.0.1;Port=1;Username=chat;Database=aspirechat";
        if (mongo is not null) settings["ConnectionStrings:mongo"] = mongo;
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddChatAdapters();
        builder.AddChatAdapters();   // a second call registers nothing twice

        var host = builder.Build();
        try
        {
            Assert.IsType(expected, host.Services.GetRequiredService<IConsentStore>());
            Assert.Single(builder.Services, d => d.ServiceType == typeof(IConsentStore));
        }
        finally
        {
            await ((IAsyncDisposable)host).DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
