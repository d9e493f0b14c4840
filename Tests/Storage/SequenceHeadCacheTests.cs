using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>The rules of <see cref="SequenceHeads"/>: read through, moved after commit, dropped on failure and on a forget.</summary>
public sealed class SequenceHeadCacheTests
{
    [Fact]
    public void A_head_not_cached_is_read_from_storage_and_cached_only_when_a_write_commits()
    {
        var cache = new SequenceHeads().Conversations;
        var reads = 0;
        long Stored(string _) { reads++; return 7; }

        Assert.Equal(7, cache.Get("c", Stored));
        Assert.Equal(7, cache.Get("c", Stored));
        Assert.Equal(2, reads);

        cache.Committed(cache.Epoch, [new("c", 9)]);
        Assert.Equal(9, cache.Get("c", Stored));
        Assert.Equal(2, reads);
    }

    [Fact]
    public void A_failed_write_drops_the_heads_it_touched_and_no_other()
    {
        var cache = new SequenceHeads().Inboxes;
        cache.Committed(cache.Epoch, [new("alice", 3), new("bob", 4)]);

        cache.Failed(["alice"]);

        Assert.False(cache.TryGet("alice", out _));
        Assert.True(cache.TryGet("bob", out var bob));
        Assert.Equal(4, bob);
    }

    [Fact]
    public void Forgetting_drops_every_head_and_a_write_that_began_before_it_does_not_bring_its_heads_back()
    {
        var cache = new SequenceHeads().Conversations;
        cache.Committed(cache.Epoch, [new("c", 5)]);
        var running = cache.Epoch;

        cache.Forget();
        Assert.False(cache.TryGet("c", out _));

        cache.Committed(running, [new("c", 6)]);
        Assert.False(cache.TryGet("c", out _));
        cache.Committed(cache.Epoch, [new("c", 8)]);
        Assert.True(cache.TryGet("c", out var head));
        Assert.Equal(8, head);
    }
}
