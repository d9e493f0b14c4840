using AspireChat.Messaging.Delivery;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Delivery;

/// <summary>
/// The <see cref="IPendingAcks"/> contract (docs/protocol.md §8), run against every adapter. Deadlines and "now" are plain numbers
/// the caller passes, so no clock is involved. Each test gets adapters of its own (see <see cref="Create"/>).
/// </summary>
public abstract class PendingAcksContract
{
    private const int Window = 1000;
    private const long Deadline = 10_000;
    private readonly string _run = Guid.NewGuid().ToString("n")[..8];

    /// <summary>A pending-ack store empty for this test; every call within one test sees the same state.</summary>
    protected abstract IPendingAcks Create();

    protected string User(string name) => $"{name}.{_run}";

    private static long Backoff(int attempt) => Deadline + attempt * 1000;

    [Fact]
    public async Task A_device_never_reset_claims_nothing()
    {
        var pending = Create();
        var alice = User("alice");

        Assert.False(await pending.TryClaimAsync(alice, "phone", 1, Window, Deadline));
        Assert.Null(await pending.ClaimRangeAsync(alice, "phone", 10, Window, Deadline));
        await pending.AckAsync(alice, "phone", 5);
        Assert.False(await pending.TryClaimAsync(alice, "phone", 6, Window, Deadline));
    }

    [Fact]
    public async Task Claims_are_contiguous_from_the_cursor_of_the_hello()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 5);

        Assert.False(await pending.TryClaimAsync(alice, "phone", 7, Window, Deadline));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 5, Window, Deadline));
        Assert.True(await pending.TryClaimAsync(alice, "phone", 6, Window, Deadline));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 6, Window, Deadline));
        Assert.True(await pending.TryClaimAsync(alice, "phone", 7, Window, Deadline));
        // Another device of the same user has its own claims.
        Assert.False(await pending.TryClaimAsync(alice, "laptop", 1, Window, Deadline));
    }

    [Fact]
    public async Task The_window_caps_unacknowledged_claims_and_an_ack_makes_room()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);

        for (var seq = 1; seq <= 3; seq++) Assert.True(await pending.TryClaimAsync(alice, "phone", seq, 3, Deadline));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 4, 3, Deadline));
        await pending.AckAsync(alice, "phone", 2);
        Assert.True(await pending.TryClaimAsync(alice, "phone", 4, 3, Deadline));
        Assert.True(await pending.TryClaimAsync(alice, "phone", 5, 3, Deadline));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 6, 3, Deadline));
    }

    [Fact]
    public async Task A_range_claim_goes_up_to_the_head_as_far_as_the_window_has_room()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);

        Assert.Equal((1L, 4L), await pending.ClaimRangeAsync(alice, "phone", 10, 4, Deadline));
        Assert.Null(await pending.ClaimRangeAsync(alice, "phone", 10, 4, Deadline));
        await pending.AckAsync(alice, "phone", 2);
        Assert.Equal((5L, 6L), await pending.ClaimRangeAsync(alice, "phone", 10, 4, Deadline));
        await pending.AckAsync(alice, "phone", 6);
        Assert.Equal((7L, 10L), await pending.ClaimRangeAsync(alice, "phone", 10, 4, Deadline));
        await pending.AckAsync(alice, "phone", 10);
        Assert.Null(await pending.ClaimRangeAsync(alice, "phone", 10, 4, Deadline));
        // A live push follows the range without a gap.
        Assert.True(await pending.TryClaimAsync(alice, "phone", 11, 4, Deadline));
    }

    [Fact]
    public async Task A_cumulative_ack_clears_every_entry_up_to_its_seq_and_moves_the_claims_past_it()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        Assert.Equal((1L, 5L), await pending.ClaimRangeAsync(alice, "phone", 5, Window, Deadline));

        await pending.AckAsync(alice, "phone", 3);

        var due = await pending.TakeExpiredAsync(Deadline, 5, Backoff, 100);
        Assert.Equal([4L, 5L], due.Select(d => d.Seq).Order());
        // An ack beyond what was claimed (the device synced on its own) counts as claimed up to it.
        await pending.AckAsync(alice, "phone", 20);
        Assert.Empty(await pending.TakeExpiredAsync(long.MaxValue / 2, 5, Backoff, 100));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 6, Window, Deadline));
        Assert.True(await pending.TryClaimAsync(alice, "phone", 21, Window, Deadline));
    }

    [Fact]
    public async Task An_entry_past_its_deadline_comes_back_with_each_attempt_until_max_attempts_and_is_then_dropped()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        Assert.True(await pending.TryClaimAsync(alice, "phone", 1, Window, Deadline));

        Assert.Empty(await pending.TakeExpiredAsync(Deadline - 1, 3, Backoff, 100));
        Assert.Equal([new PendingDelivery(alice, "phone", 1, 1)], await pending.TakeExpiredAsync(Deadline, 3, Backoff, 100));
        // The next deadline is the one the caller's backoff gave for that attempt.
        Assert.Empty(await pending.TakeExpiredAsync(Backoff(1) - 1, 3, Backoff, 100));
        Assert.Equal([new PendingDelivery(alice, "phone", 1, 2)], await pending.TakeExpiredAsync(Backoff(1), 3, Backoff, 100));
        Assert.Equal([new PendingDelivery(alice, "phone", 1, 3)], await pending.TakeExpiredAsync(Backoff(2), 3, Backoff, 100));

        Assert.Empty(await pending.TakeExpiredAsync(Backoff(3), 3, Backoff, 100));
        Assert.Empty(await pending.TakeExpiredAsync(long.MaxValue / 2, 3, Backoff, 100));
        await WaitForCountAsync(pending, 0);
        // Dropped, not forgotten: the claim stands, so the window fill goes on after it.
        Assert.True(await pending.TryClaimAsync(alice, "phone", 2, Window, Deadline));
    }

    [Fact]
    public async Task An_acknowledged_entry_is_never_taken_as_expired()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        await pending.ClaimRangeAsync(alice, "phone", 2, Window, Deadline);
        Assert.Equal(2, (await pending.TakeExpiredAsync(Deadline, 5, Backoff, 100)).Count);

        await pending.AckAsync(alice, "phone", 2);

        Assert.Empty(await pending.TakeExpiredAsync(long.MaxValue / 2, 5, Backoff, 100));
    }

    [Fact]
    public async Task Taking_expired_entries_stops_at_max_and_leaves_the_rest_for_the_next_call()
    {
        var pending = Create();
        var users = Enumerable.Range(0, 4).Select(i => User($"u{i}")).ToList();
        foreach (var user in users)
        {
            await pending.ResetAsync(user, "phone", 0);
            await pending.ClaimRangeAsync(user, "phone", 5, Window, Deadline);
        }

        var taken = new List<PendingDelivery>();
        for (var call = 0; call < 40 && taken.Count < 20; call++)
        {
            var batch = await pending.TakeExpiredAsync(Deadline, 5, Backoff, 6);
            Assert.InRange(batch.Count, 0, 6);
            taken.AddRange(batch);
        }

        Assert.Equal(20, taken.Count);
        Assert.Equal(20, taken.Select(t => (t.User, t.Seq)).Distinct().Count());
        Assert.All(taken, t => Assert.Equal(1, t.Attempt));
    }

    [Fact]
    public async Task A_reset_drops_what_was_pending_and_claims_again_from_the_new_cursor()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        await pending.ClaimRangeAsync(alice, "phone", 5, Window, Deadline);
        await WaitForCountAsync(pending, 5);

        await pending.ResetAsync(alice, "phone", 3);

        await WaitForCountAsync(pending, 0);
        Assert.Empty(await pending.TakeExpiredAsync(long.MaxValue / 2, 5, Backoff, 100));
        Assert.Equal((4L, 5L), await pending.ClaimRangeAsync(alice, "phone", 5, Window, Deadline));
    }

    [Fact]
    public async Task A_forgotten_device_has_nothing_pending_and_claims_nothing()
    {
        var pending = Create();
        var alice = User("alice");
        await pending.ResetAsync(alice, "phone", 0);
        await pending.ClaimRangeAsync(alice, "phone", 3, Window, Deadline);

        await pending.ForgetAsync(alice, "phone");

        await WaitForCountAsync(pending, 0);
        Assert.Empty(await pending.TakeExpiredAsync(long.MaxValue / 2, 5, Backoff, 100));
        Assert.False(await pending.TryClaimAsync(alice, "phone", 4, Window, Deadline));
    }

    [Fact]
    public async Task The_count_is_every_pending_entry_over_all_devices()
    {
        var pending = Create();
        var (alice, bob) = (User("alice"), User("bob"));
        await pending.ResetAsync(alice, "phone", 0);
        await pending.ResetAsync(alice, "laptop", 0);
        await pending.ResetAsync(bob, "phone", 10);
        await pending.ClaimRangeAsync(alice, "phone", 3, Window, Deadline);
        await pending.TryClaimAsync(alice, "laptop", 1, Window, Deadline);
        await pending.ClaimRangeAsync(bob, "phone", 14, Window, Deadline);

        await WaitForCountAsync(pending, 8);
        await pending.AckAsync(bob, "phone", 12);
        await WaitForCountAsync(pending, 6);
    }

    /// <summary>The count is a metric, and may be a cached value: wait for it.</summary>
    protected static Task WaitForCountAsync(IPendingAcks pending, long expected) =>
        Wait.UntilAsync(() => pending.Count == expected, $"the pending count is {expected} (it is {pending.Count})");
}
