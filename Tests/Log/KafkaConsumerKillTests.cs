using System.Collections.Concurrent;
using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Log;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireChat.Tests.Log;

/// <summary>
/// README.md faults on the Kafka log: a consumer-group member killed with SIGKILL mid-batch. Its partitions move to
/// the group's other member, which starts at the committed offsets: every record is handled by someone (at least
/// once; what the dead member handled but had not committed is handled again), in key order within each member.
/// </summary>
public sealed class KafkaConsumerKillTests
{
    [Fact]
    public async Task Kafka_member_killed_with_SIGKILL_mid_batch_loses_nothing_and_each_member_handles_every_key_in_order()
    {
        var topicName = $"test.kill.{Guid.NewGuid():n}";
        var group = "kill-9";
        using var cluster = new KafkaMockCluster(partitions: 4, topics: [topicName]);
        var options = KafkaMessageLogContract.TestOptions(cluster.BootstrapServers);
        using var log = new KafkaMessageLog(options, NullLogger<KafkaMessageLog>.Instance);
        var topic = new LogTopic<MessageAccepted>(topicName, m => m.Conv, MessagingJson.Default.MessageAccepted);
        var convs = Enumerable.Range(0, 8).Select(i => $"s:a{i}:b{i}").ToArray();
        var next = new long[convs.Length];
        var body = JsonSerializer.SerializeToElement(new { text = "hi" });
        async Task AppendAsync(int perConv)
        {
            var records = new List<MessageAccepted>();
            for (var n = 0; n < perConv; n++)
                for (var c = 0; c < convs.Length; c++)
                    records.Add(new MessageAccepted(++next[c], convs[c], 0, $"a{c}", "d", next[c], $"b{c}", 1, body, null, 0));
            await log.AppendAsync(topic, records);
        }
        // Records keep arriving through the whole test, one per conversation every 20 ms.
        await AppendAsync(10);
        using var stopAppending = new CancellationTokenSource();
        var appender = Task.Run(async () =>
        {
            while (!stopAppending.IsCancellationRequested)
            {
                await AppendAsync(1);
                await Task.Delay(20);
            }
        });

        var directory = TempDirectory.Create();
        using var stop = new CancellationTokenSource();
        Task member = Task.CompletedTask;
        try
        {
            // The child takes 5 ms a record, so a kill lands inside a batch whose offsets are not committed yet.
            using var child = KafkaMemberProcess.Start(cluster.BootstrapServers, topicName, group, Path.Combine(directory, "child.journal"), perRecordMs: 5, partitions: 4);
            await Wait.UntilAsync(() => child.Handled().Count >= 20 || child.HasExited, "the child member handles its first records", TimeSpan.FromSeconds(60));
            Assert.False(child.HasExited, "the child member exited on its own");

            var mine = new ConcurrentQueue<(string Conv, long Id)>();
            member = log.ConsumeAsync(topic, group, async (batch, ct) =>
            {
                foreach (var record in batch)
                {
                    await Task.Delay(1, ct);
                    mine.Enqueue((record.Conv, record.Id));
                }
            }, stop.Token);

            // Both members work; then the child dies mid-stream while more records arrive.
            await Wait.UntilAsync(() => !mine.IsEmpty, "the test's member gets partitions of its own", TimeSpan.FromSeconds(30));
            var beforeKill = child.Handled().Count;
            await Wait.UntilAsync(() => child.Handled().Count >= beforeKill + 10, "the child goes on with the partitions it kept", TimeSpan.FromSeconds(30));
            child.Kill();
            var childHandled = child.Handled();
            var mineAtKill = mine.Count;
            await Wait.UntilAsync(() => mine.Count >= mineAtKill + 100, "the test's member goes on after the kill", TimeSpan.FromSeconds(60));
            await stopAppending.CancelAsync();
            await appender;
            var appended = convs.SelectMany((c, i) => Enumerable.Range(1, (int)next[i]).Select(id => (c, (long)id))).ToHashSet();
            // Records appended after the kill on the child's partitions can only have been handled by the test's member.
            bool AllHandled() => appended.IsSubsetOf(childHandled.Concat(mine));
            await Wait.UntilAsync(AllHandled, "every appended record is handled by one member or the other", TimeSpan.FromSeconds(60));
            Assert.NotEmpty(childHandled);
            foreach (var (name, handled) in new[] { ("child", childHandled), ("test member", mine.ToList()) })
            {
                foreach (var conv in handled.GroupBy(r => r.Conv))
                {
                    var ids = conv.Select(r => r.Id).ToList();
                    Assert.True(ids.Zip(ids.Skip(1)).All(p => p.Second > p.First), $"{name} handled {conv.Key} out of order: {string.Join(",", ids)}");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await member.WaitAsync(TimeSpan.FromSeconds(30));
            await stopAppending.CancelAsync();
            await appender;
            Directory.Delete(directory, recursive: true);
        }
    }
}
