using AspireChat.Messaging.Log;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>
/// The message log contract against <see cref="KafkaMessageLog"/> on the broker named by <c>ASPIRECHAT_TEST_KAFKA</c>
/// (bootstrap servers), in topics of its own that are deleted afterwards. Without that variable every test reports as
/// skipped: no Kafka broker runs on the build machines, and none is faked.
/// </summary>
public sealed class KafkaBrokerMessageLogContractTests(KafkaBrokerMessageLogContractTests.Broker broker)
    : KafkaMessageLogContract, IClassFixture<KafkaBrokerMessageLogContractTests.Broker>
{
    public const string Variable = "ASPIRECHAT_TEST_KAFKA";
    public const string SkipReason = "set ASPIRECHAT_TEST_KAFKA to the bootstrap servers of a Kafka broker";

    protected override KafkaMessageLog KafkaLog
    {
        get
        {
            Skip.If(broker.Log is null, SkipReason);
            return broker.Log!;
        }
    }

    protected override async Task<LogTopic<LogTestRecord>> NewTopicAsync()
    {
        var log = KafkaLog;
        var name = $"aspirechat.test.{Guid.NewGuid():n}";
        broker.Topics.Add(name);
        await log.EnsureTopicAsync(name);
        return new LogTopic<LogTestRecord>(name, r => r.Key, LogTestJson.Default.LogTestRecord);
    }

    /// <summary>A log on the broker (null when none is configured); the topics the tests made are deleted afterwards.</summary>
    public sealed class Broker : IAsyncLifetime
    {
        public Broker()
        {
            var bootstrap = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrWhiteSpace(bootstrap)) Log = new KafkaMessageLog(BrokerTestOptions(bootstrap), NullLogger<KafkaMessageLog>.Instance);
        }

        public KafkaMessageLog? Log { get; }
        public System.Collections.Concurrent.ConcurrentBag<string> Topics { get; } = [];

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (Log is null) return;
            if (!Topics.IsEmpty)
            {
                using var admin = new AdminClientBuilder(Log.ClientConfig()).Build();
                await admin.DeleteTopicsAsync(Topics);
            }
            Log.Dispose();
        }
    }
}
