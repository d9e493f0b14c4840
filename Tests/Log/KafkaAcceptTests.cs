using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>Stage 0 on the Kafka log: the acknowledgement point is the broker's, so a produce that fails is never an ack.</summary>
public sealed class KafkaAcceptTests
{
    [Fact]
    public async Task A_Kafka_produce_that_times_out_answers_the_sender_unavailable_and_the_retransmission_is_acked_and_logged_once()
    {
        var directory = TempDirectory.Create();
        using var database = new RocksDbDatabase(Path.Combine(directory, "data"));
        var store = new RocksDbChatStore(database, new SequenceHeads());
        await store.InitializeAsync();
        using var cluster = new KafkaMockCluster(partitions: 2);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers, partitions: 2);
        options.MessageTimeout = TimeSpan.FromMilliseconds(1500);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);
        var queue = new SendQueue();
        var accept = new AcceptStage(new SnowflakeIdGenerator(new SnowflakeOptions { WorkerId = 3 }, TimeProvider.System), new EveryoneMaySend(), TimeProvider.System);
        var composition = new DistributedComposition(queue, store, log, accept, NullLogger<DistributedComposition>.Instance);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => composition.RunAsync(stop.Token));
        async Task<Outcome> SendAsync(SendFrame frame)
        {
            var reply = new Outcome();
            await queue.EnqueueAsync("alice", "phone", frame, reply);
            await reply.Done.Task;
            return reply;
        }
        var send = new SendFrame { Req = 1, Ope = 0, To = "bob", Type = 1, Body = JsonSerializer.SerializeToElement(new { text = "hi" }) };
        try
        {
            // Warm: the producer knows the cluster and the topic before the broker goes away.
            Assert.NotNull((await SendAsync(send with { Req = 7, To = "carol" })).Accepted);

            cluster.SetBrokerDown();
            var refused = await SendAsync(send).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Null(refused.Accepted);
            Assert.Equal(ErrorCodes.Unavailable, refused.Rejected?.Code);

            cluster.SetBrokerUp();
            // The sender retransmits with the same req until acked: the producer may need a moment to reconnect.
            var acked = await Wait.ForObjectAsync(async () =>
            {
                var answer = await SendAsync(send).WaitAsync(TimeSpan.FromSeconds(30));
                return answer.Accepted is null && answer.Rejected?.Code == ErrorCodes.Unavailable ? null : answer;
            }, "the retransmitted send is answered with something other than unavailable", TimeSpan.FromSeconds(30));
            Assert.NotNull(acked.Accepted);

            var logged = new ConcurrentQueue<MessageAccepted>();
            using var consuming = new CancellationTokenSource();
            var consumer = log.ConsumeAsync(LogTopics.Accepted, "accept-test", (batch, _) =>
            {
                foreach (var m in batch) logged.Enqueue(m);
                return ValueTask.CompletedTask;
            }, consuming.Token);
            await Wait.UntilAsync(() => logged.Any(m => m.Req == 7), "the log holds what was appended", TimeSpan.FromSeconds(30));
            await consuming.CancelAsync();
            await consumer.WaitAsync(TimeSpan.FromSeconds(30));
            var sent = Assert.Single(logged, m => m.Req == 1);
            Assert.Equal(acked.Accepted!.Id, sent.Id);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed class Outcome : IAcceptReply
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public SendRecord? Accepted { get; private set; }
        public SendRejection? Rejected { get; private set; }
        void IAcceptReply.Accepted(long req, SendRecord record, long? cseq, long? seq) { Accepted = record; Done.TrySetResult(); }
        void IAcceptReply.Rejected(long req, SendRejection rejection) { Rejected = rejection; Done.TrySetResult(); }
    }

    private sealed class EveryoneMaySend : ISendPermission
    {
        public ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default) => ValueTask.FromResult<SendRejection?>(null);
    }
}
