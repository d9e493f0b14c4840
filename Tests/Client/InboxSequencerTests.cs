using AspireChat.Client;
using AspireChat.Protocol;

namespace AspireChat.Tests.Client;

public sealed class InboxSequencerTests
{
    private static List<long> Take(InboxSequencer inbox, params long[] seqs)
    {
        var surfaced = new List<MsgFrame>();
        foreach (var seq in seqs) inbox.Accept(FakeChatServer.Message(seq), surfaced);
        return surfaced.Select(m => m.Seq!.Value).ToList();
    }

    [Fact]
    public void Messages_ahead_of_a_gap_wait_and_surface_in_order_once_it_fills()
    {
        var inbox = new InboxSequencer();
        inbox.Reset(5);

        Assert.Empty(Take(inbox, 7, 8));
        Assert.True(inbox.HasGap);
        Assert.Equal(5, inbox.CurMax);
        Assert.Equal([6, 7, 8], Take(inbox, 6));
        Assert.False(inbox.HasGap);
        Assert.Equal(8, inbox.CurMax);
    }

    [Fact]
    public void A_seq_already_held_is_dropped()
    {
        var inbox = new InboxSequencer();
        inbox.Reset(2);

        Assert.Equal(InboxOutcome.Duplicate, inbox.Accept(FakeChatServer.Message(2), []));
        Assert.Equal(InboxOutcome.Buffered, inbox.Accept(FakeChatServer.Message(4), []));
        Assert.Equal(InboxOutcome.Duplicate, inbox.Accept(FakeChatServer.Message(4), []));
        Assert.Equal([3, 4], Take(inbox, 3, 4, 3));
    }

    [Fact]
    public void Without_a_cursor_the_first_seq_received_is_the_baseline()
    {
        var inbox = new InboxSequencer();
        inbox.Reset(null);

        Assert.Equal(-1, inbox.CurMax);
        Assert.Equal([41, 42], Take(inbox, 41, 42));
        Assert.Equal(42, inbox.CurMax);
    }
}

public sealed class CursorStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "aspirechat-cursor-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_file_store_keeps_the_state_across_instances()
    {
        var path = Path.Combine(_folder, "alice", "phone.json");
        await new FileCursorStore(path).SaveAsync(new CursorState { Seq = 42, ReqHigh = 1_000_000, Groups = new() { ["g1"] = 7 } }, default);

        var loaded = await new FileCursorStore(path).LoadAsync(default);

        Assert.NotNull(loaded);
        Assert.Equal(42, loaded.Seq);
        Assert.Equal(1_000_000, loaded.ReqHigh);
        Assert.Equal(7, loaded.Groups!["g1"]);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public async Task A_missing_or_unreadable_file_is_no_state()
    {
        var path = Path.Combine(_folder, "phone.json");
        Assert.Null(await new FileCursorStore(path).LoadAsync(default));

        Directory.CreateDirectory(_folder);
        await File.WriteAllTextAsync(path, "{ not json");
        Assert.Null(await new FileCursorStore(path).LoadAsync(default));
    }
}
