using AspireChat.Bench.Checking;

namespace AspireChat.Tests.Bench;

public sealed class DeliveryCheckerTests
{
    private static readonly DeviceKey Alice = new("alice", "phone");
    private static readonly DeviceKey Bob = new("bob", "laptop");
    private const string Conv = "s:alice:bob";

    /// <summary>Alice sends <paramref name="count"/> messages to Bob; each is acknowledged as id m{req} at cseq {req}.</summary>
    private static DeliveryChecker SendAndAck(int count, params DeviceKey[] recipients)
    {
        var checker = new DeliveryChecker();
        var sends = checker.Sender(Alice.User, Alice.Device);
        for (var req = 1; req <= count; req++)
        {
            sends.Sent(req, recipients.Length > 0 ? recipients : [Bob]);
            sends.Acked(req, $"m{req}");
        }
        return checker;
    }

    private static void Deliver(DeliveryChecker checker, DeviceKey device, long? seq, int req) =>
        checker.Device(device.User, device.Device).Delivered(seq, $"m{req}", Conv, req, Alice.User);

    [Fact]
    public void Every_message_delivered_once_in_order_passes()
    {
        var checker = SendAndAck(3);
        for (var i = 1; i <= 3; i++) Deliver(checker, Bob, i, i);

        var report = checker.Finish();

        Assert.True(report.Passed, string.Join("\n", report.Violations));
        Assert.Equal(3, report.Counts.DeliveredAsExpected);
    }

    [Fact]
    public void Operation_entries_are_checked_like_messages_and_membership_events_are_not()
    {
        var checker = SendAndAck(3);
        var bob = checker.Device(Bob.User, Bob.Device);
        bob.Delivered(1, "m1", Conv, 1, Alice.User);
        bob.Delivered(2, "event", Conv, 2, Alice.User, type: -2);
        bob.Delivered(3, "m2", Conv, 3, Alice.User, type: -10);

        var report = checker.Finish();

        // m3 (a reaction, say) never arrived: an operation that is lost is reported like a lost message.
        Assert.Equal([ViolationKind.Lost], report.Violations.Select(v => v.Kind));
        Assert.Equal((2, 1), (report.Counts.DeliveredAsExpected, report.Counts.SystemMessages));
    }

    [Fact]
    public void A_lost_delivery_is_reported()
    {
        var checker = SendAndAck(3);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 2, 3); // m2 never comes: m3 takes seq 2

        var report = checker.Finish();

        var lost = Assert.Single(report.Violations, v => v.Kind == ViolationKind.Lost);
        Assert.Equal(Bob, lost.Device);
        Assert.Contains("m2", lost.Detail);
    }

    [Fact]
    public void A_message_missing_at_one_of_two_expected_devices_is_reported_there()
    {
        var checker = SendAndAck(1, Bob, Alice);
        Deliver(checker, Bob, 1, 1);

        var report = checker.Finish();

        var lost = Assert.Single(report.Violations);
        Assert.Equal((ViolationKind.Lost, Alice), (lost.Kind, lost.Device));
    }

    [Fact]
    public void A_duplicated_delivery_is_reported()
    {
        var checker = SendAndAck(2);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 2, 1); // m1 again, at a second seq: it would be shown twice
        Deliver(checker, Bob, 3, 2);

        var report = checker.Finish();

        var duplicate = Assert.Single(report.Violations, v => v.Kind == ViolationKind.Duplicated);
        Assert.Equal(Bob, duplicate.Device);
        Assert.Contains("m1", duplicate.Detail);
        Assert.Contains("2 times", duplicate.Detail);
    }

    [Fact]
    public void A_large_group_message_delivered_twice_is_reported()
    {
        var checker = SendAndAck(1);
        Deliver(checker, Bob, null, 1); // read diffusion: no seq, so a repeat is a duplicate
        Deliver(checker, Bob, null, 1);

        var report = checker.Finish();

        Assert.Equal(ViolationKind.Duplicated, Assert.Single(report.Violations).Kind);
    }

    [Fact]
    public void A_retransmission_at_the_same_seq_is_not_a_violation()
    {
        var checker = SendAndAck(2);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 1, 1); // the server re-pushed an entry whose ack it missed
        Deliver(checker, Bob, 2, 2);

        var report = checker.Finish();

        Assert.True(report.Passed, string.Join("\n", report.Violations));
        Assert.Equal(1, report.Counts.Redeliveries);
    }

    [Fact]
    public void A_reordered_delivery_is_reported()
    {
        var checker = SendAndAck(3);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 2, 3); // cseq 3 before cseq 2, though the inbox seqs are in order
        Deliver(checker, Bob, 3, 2);

        var report = checker.Finish();

        var reordered = Assert.Single(report.Violations);
        Assert.Equal(ViolationKind.Reordered, reordered.Kind);
        Assert.Contains("cseq 2", reordered.Detail);
    }

    [Fact]
    public void A_senders_messages_out_of_its_req_order_are_reported_even_without_cseq()
    {
        var checker = SendAndAck(2);
        var bob = checker.Device(Bob.User, Bob.Device);
        bob.Delivered(null, "m2", Conv, 0, Alice.User); // a relay: no cseq, only the sender's req order
        bob.Delivered(null, "m1", Conv, 0, Alice.User);

        var report = checker.Finish();

        var reordered = Assert.Single(report.Violations);
        Assert.Equal(ViolationKind.Reordered, reordered.Kind);
        Assert.Contains("req 1", reordered.Detail);
    }

    [Fact]
    public void An_inbox_seq_gap_is_reported()
    {
        var checker = SendAndAck(2);
        var bob = checker.Device(Bob.User, Bob.Device, firstSeq: 1);
        bob.Delivered(1, "m1", Conv, 1, Alice.User);
        bob.Delivered(3, "m2", Conv, 2, Alice.User);

        var report = checker.Finish();

        Assert.Equal(2, report.Violations.Count(v => v.Kind == ViolationKind.SeqGap)); // the jump as it happened, and the seq that never came
        Assert.Contains(report.Violations, v => v.Detail.Contains("seq 2 never arrived"));
    }

    [Fact]
    public void Two_messages_at_one_seq_are_reported()
    {
        var checker = SendAndAck(2);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 1, 2);

        var report = checker.Finish();

        Assert.Contains(report.Violations, v => v.Kind == ViolationKind.SeqConflict);
    }

    [Fact]
    public void An_unanswered_send_is_reported_and_a_refused_one_is_not_expected_anywhere()
    {
        var checker = new DeliveryChecker();
        var sends = checker.Sender(Alice.User, Alice.Device);
        sends.Sent(1, [Bob]);
        sends.Sent(2, [Bob]);
        sends.Failed(2, "rate_limited", "slow down");

        var report = checker.Finish();

        var unanswered = Assert.Single(report.Violations);
        Assert.Equal((ViolationKind.Unanswered, Alice), (unanswered.Kind, unanswered.Device));
        Assert.Contains("req 1", unanswered.Detail);
        Assert.Equal(1, report.Counts.Failed);
    }

    [Fact]
    public void One_send_acknowledged_as_two_messages_is_reported()
    {
        var checker = new DeliveryChecker();
        var sends = checker.Sender(Alice.User, Alice.Device);
        sends.Sent(1, [Bob]);
        sends.Acked(1, "m1");
        sends.Acked(1, "m1"); // the same ack again: fine
        sends.Acked(1, "m9"); // a retransmission that became a second message

        Assert.Equal(1, checker.LiveViolations);
        Assert.Contains(checker.Finish().Violations, v => v.Kind == ViolationKind.Duplicated && v.Detail.Contains("m9"));
    }

    [Fact]
    public void A_delivery_no_acknowledged_send_explains_is_reported()
    {
        var checker = SendAndAck(1);
        Deliver(checker, Bob, 1, 1);
        Deliver(checker, Bob, 2, 7);

        var report = checker.Finish();

        Assert.Equal(ViolationKind.Unexpected, Assert.Single(report.Violations).Kind);
    }

    [Fact]
    public void System_messages_take_a_seq_without_being_checked_as_sends()
    {
        var checker = SendAndAck(1);
        var bob = checker.Device(Bob.User, Bob.Device, firstSeq: 1);
        bob.Delivered(1, "created", "g:team", 1, Alice.User, type: -1);
        bob.Delivered(2, "m1", Conv, 1, Alice.User);

        var report = checker.Finish();

        Assert.True(report.Passed, string.Join("\n", report.Violations));
        Assert.Equal(1, report.Counts.SystemMessages);
    }
    [Fact]
    public void The_senders_copy_held_from_its_ack_counts_once_even_ahead_of_pushes_of_lower_seqs()
    {
        // Alice's inbox: bob's message at seq 1 (pushed), her own m1 at seq 2 (held from the send's ack, which came first).
        var checker = new DeliveryChecker();
        var sends = checker.Sender(Alice.User, Alice.Device);
        sends.Sent(1, [Bob, Alice]);
        sends.Acked(1, "m1");
        var bobs = checker.Sender(Bob.User, Bob.Device);
        bobs.Sent(1, [Alice, Bob]);
        bobs.Acked(1, "b1");
        var phone = checker.Device(Alice.User, Alice.Device, firstSeq: 1);
        phone.HeldFromAck(2, "m1", Conv, 2, Alice.User);
        phone.Delivered(1, "b1", Conv, 1, Bob.User);
        Assert.False(phone.Delivered(2, "m1", Conv, 2, Alice.User)); // a re-push of what the ack held: a retransmission
        var laptop = checker.Device(Bob.User, Bob.Device, firstSeq: 1);
        laptop.HeldFromAck(1, "b1", Conv, 1, Bob.User);
        laptop.Delivered(2, "m1", Conv, 2, Alice.User);

        var report = checker.Finish();

        Assert.True(report.Passed, string.Join("\n", report.Violations));
        Assert.Equal(4, report.Counts.DeliveredAsExpected);
    }

    [Fact]
    public void A_push_past_a_seq_neither_pushed_nor_held_from_an_ack_is_a_gap()
    {
        var checker = SendAndAck(3, Alice);
        var phone = checker.Device(Alice.User, Alice.Device, firstSeq: 1);
        phone.HeldFromAck(2, "m2", Conv, 2, Alice.User);
        phone.Delivered(3, "m3", Conv, 3, Alice.User); // seq 1 is due before it

        var report = checker.Finish();

        Assert.Contains(report.Violations, v => v.Kind == ViolationKind.SeqGap);
        Assert.Contains(report.Violations, v => v.Kind == ViolationKind.Lost && v.Detail.Contains("m1"));
    }
}
