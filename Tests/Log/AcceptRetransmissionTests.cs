using System.Text.Json;
using AspireChat.Messaging;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Storage;
using AspireChat.Protocol;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Log;

/// <summary>
/// Stage 0 and a send its rules refuse now (docs/protocol.md §8.1): a retransmission of a send that was taken — its
/// message stored — is answered as the first time; a send record whose message never reached the store (the distributed
/// composition records the send before its log append, which can fail) lets nothing past the rules.
/// </summary>
public sealed class AcceptRetransmissionTests : IDisposable
{
    private readonly string _directory = TempDirectory.Create();
    private readonly RocksDbDatabase _database;
    private readonly RocksDbChatStore _store;
    private readonly AcceptStage _accept;

    public AcceptRetransmissionTests()
    {
        _database = new RocksDbDatabase(Path.Combine(_directory, "data"));
        _store = new RocksDbChatStore(_database, new SequenceHeads());
        _accept = new AcceptStage(new SnowflakeIdGenerator(new SnowflakeOptions { WorkerId = 5 }, TimeProvider.System), new NobodyMaySend(),
            TimeProvider.System, new RocksDbTimelineStore(_database));
    }

    public void Dispose()
    {
        _database.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_refused_send_whose_record_has_no_stored_message_stays_refused_and_goes_on_once_its_message_is_stored()
    {
        await _store.InitializeAsync();
        const string conv = "s:alice:bob";
        var record = new SendRecord("alice", "phone", 7, 4242, conv, 1_000);
        // The record of a send whose log append failed: answered unavailable, never taken.
        await _store.ReserveSendsAsync([record]);

        var refused = await AcceptAsync();
        Assert.Empty(refused.Accepted);
        Assert.Equal(ErrorCodes.Forbidden, Assert.Single(refused.Refused).Rejection.Code);

        // Taken after all (the retransmission that went through before the rule changed): its message is stored.
        await _store.AppendMessagesAsync([new MessageAccepted(4242, conv, 0, "alice", "phone", 7, "bob", 1, Body, null, 1_000)]);
        var again = await AcceptAsync();
        Assert.Empty(again.Refused);
        Assert.Equal((4242L, 1_000L), (Assert.Single(again.Accepted).Accepted.Id, again.Accepted[0].Accepted.Ts));
    }

    private static readonly JsonElement Body = JsonSerializer.SerializeToElement(new { text = "hi" });

    private async Task<AcceptedBatch> AcceptAsync()
    {
        var send = new SendFrame { Req = 7, Ope = 0, To = "bob", Type = 1, Body = Body };
        using var batch = _store.BeginBatch();
        var verdict = await _accept.AcceptAsync(batch, [new AcceptRequest("alice", "phone", send, null, "s:alice:bob", new NoReply())], CancellationToken.None);
        await batch.CommitAsync();
        return verdict;
    }

    private sealed class NobodyMaySend : ISendPermission
    {
        public ValueTask<SendRejection?> CheckAsync(string user, SendFrame send, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<SendRejection?>(new SendRejection(ErrorCodes.Forbidden, "no"));
    }

    private sealed class NoReply : IAcceptReply
    {
        public void Accepted(long req, SendRecord record, long? cseq, long? seq) { }
        public void Rejected(long req, SendRejection rejection) { }
    }
}
