using AspireChat.Messaging.Log;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>The message log contract against <see cref="InMemoryMessageLog"/> (the in-process log); always runs.</summary>
public sealed class InMemoryMessageLogContractTests : MessageLogContract
{
    private readonly InMemoryMessageLog _log = new(NullLogger<InMemoryMessageLog>.Instance, partitions: 4);

    protected override IMessageLog Log => _log;

    protected override Task<LogTopic<LogTestRecord>> NewTopicAsync() =>
        Task.FromResult(new LogTopic<LogTestRecord>($"test.{Guid.NewGuid():n}", r => r.Key, LogTestJson.Default.LogTestRecord));
}
