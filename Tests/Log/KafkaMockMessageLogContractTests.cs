using AspireChat.Messaging.Log;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>The message log contract against <see cref="KafkaMessageLog"/> on librdkafka's mock cluster; always runs.</summary>
public sealed class KafkaMockMessageLogContractTests(KafkaMockMessageLogContractTests.MockKafka kafka)
    : KafkaMessageLogContract, IClassFixture<KafkaMockMessageLogContractTests.MockKafka>
{
    protected override KafkaMessageLog KafkaLog => kafka.Log;

    protected override Task<LogTopic<LogTestRecord>> NewTopicAsync()
    {
        var name = $"test.{Guid.NewGuid():n}";
        kafka.Cluster.CreateTopic(name);
        return Task.FromResult(new LogTopic<LogTestRecord>(name, r => r.Key, LogTestJson.Default.LogTestRecord));
    }

    /// <summary>A mock cluster and a log on it for the test class.</summary>
    public sealed class MockKafka : IDisposable
    {
        public MockKafka()
        {
            Cluster = new KafkaMockCluster(partitions: 4, topics: []);
            Log = new KafkaMessageLog(TestOptions(Cluster.BootstrapServers), NullLogger<KafkaMessageLog>.Instance);
        }

        public KafkaMockCluster Cluster { get; }
        public KafkaMessageLog Log { get; }

        public void Dispose()
        {
            Log.Dispose();
            Cluster.Dispose();
        }
    }
}
