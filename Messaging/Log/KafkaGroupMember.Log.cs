using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace AspireChat.Messaging.Log;

/// <summary>The log messages of a consumer-group member.</summary>
internal sealed partial class KafkaGroupMember<T>
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka {Topic}/{Group}: assigned partitions {Partitions}")]
    private static partial void LogAssigned(ILogger logger, string topic, string group, string partitions);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka {Topic}/{Group}: the consumer's release callback failed")]
    private static partial void LogReleasedFailed(ILogger logger, Exception exception, string topic, string group);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka {Topic}/{Group}: partitions {Partitions} revoked (lost: {Lost})")]
    private static partial void LogRevoked(ILogger logger, string topic, string group, string partitions, bool lost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: a revoked partition's handler ran past the grace of {Grace}; cancelling it (its batch will be redelivered)")]
    private static partial void LogGraceOver(ILogger logger, string topic, string group, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: waiting for a cancelled handler to return before giving its partition up")]
    private static partial void LogStillRunning(ILogger logger, string topic, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Partition}: handler failed on the batch from offset {Offset} (attempt {Attempt}); retrying the same batch")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string topic, int partition, long offset, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: commit failed ({Code}: {Reason}); retrying")]
    private static partial void LogCommitFailed(ILogger logger, string topic, string group, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string topic, string group, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: the topic could not be checked at its assignment either; handling its partitions, checking again at the next assignment")]
    private static partial void LogTopicStillNotChecked(ILogger logger, Exception exception, string topic, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Topic}/{Group}: leaving the group failed")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string topic, string group);
}
