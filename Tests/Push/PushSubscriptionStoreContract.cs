using AspireChat.Messaging.Push;

namespace AspireChat.Tests.Push;

/// <summary>The <see cref="IPushSubscriptionStore"/> contract: every adapter runs these same tests, each user its own.</summary>
public abstract class PushSubscriptionStoreContract
{
    private readonly string _run = Guid.NewGuid().ToString("n")[..10];

    /// <summary>A new, initialized store instance over the class's database.</summary>
    protected abstract Task<IPushSubscriptionStore> OpenStoreAsync();

    private string User(string name) => $"{name}.{_run}";

    private PushSubscription Subscription(string user, string device, string endpoint = "https://fcm.googleapis.com/fcm/send/a") =>
        new(User(user), device, PushKinds.WebPush, endpoint, "p256dh-key", "auth-secret", 1_700_000_000_000);

    [SkippableFact]
    public async Task A_user_reads_back_its_subscriptions_by_device_and_never_another_users()
    {
        var store = await OpenStoreAsync();
        var (phone, laptop) = (Subscription("ann", "phone"), Subscription("ann", "laptop") with { Kind = PushKinds.Webhook, P256dh = null, Auth = null });
        await store.SaveAsync(phone);
        await store.SaveAsync(laptop);
        await store.SaveAsync(Subscription("ben", "phone"));

        Assert.Equal([laptop, phone], await store.GetAsync(User("ann")));
        Assert.Empty(await store.GetAsync(User("nobody")));
    }

    [SkippableFact]
    public async Task Saving_again_replaces_the_devices_subscription_and_forgets_its_attempts()
    {
        var store = await OpenStoreAsync();
        var first = Subscription("cid", "phone");
        await store.SaveAsync(first);
        await store.RecordAttemptAsync(first, 5, new PushResult(PushOutcome.Failed, 500));

        var second = Subscription("cid", "phone", "https://updates.push.services.mozilla.com/wpush/v2/b") with { Created = 1_700_000_000_500 };
        await store.SaveAsync(second);

        Assert.Equal([second], await (await OpenStoreAsync()).GetAsync(User("cid")));
    }

    [SkippableFact]
    public async Task Attempts_count_failures_in_a_row_until_one_is_delivered()
    {
        var store = await OpenStoreAsync();
        var subscription = Subscription("dee", "phone");
        await store.SaveAsync(subscription);

        await store.RecordAttemptAsync(subscription, 10, new PushResult(PushOutcome.Failed, 500));
        await store.RecordAttemptAsync(subscription, 20, new PushResult(PushOutcome.Failed, 0));
        Assert.Equal(new PushAttempt(20, PushOutcome.Failed, 0, 2), (await store.GetAsync(User("dee"))).Single().LastAttempt);

        await store.RecordAttemptAsync(subscription, 30, new PushResult(PushOutcome.Delivered, 201));
        Assert.Equal(new PushAttempt(30, PushOutcome.Delivered, 201, 0), (await store.GetAsync(User("dee"))).Single().LastAttempt);

        // An attempt on a subscription the device has since replaced is not recorded on the new one.
        var replaced = subscription with { Endpoint = "https://fcm.googleapis.com/fcm/send/new" };
        await store.SaveAsync(replaced);
        await store.RecordAttemptAsync(subscription, 40, new PushResult(PushOutcome.Failed, 500));
        Assert.Null((await store.GetAsync(User("dee"))).Single().LastAttempt);
    }

    [SkippableFact]
    public async Task A_subscription_reported_gone_is_removed_unless_the_device_registered_another_since()
    {
        var store = await OpenStoreAsync();
        var old = Subscription("eve", "phone");
        var current = Subscription("eve", "phone", "https://fcm.googleapis.com/fcm/send/current");
        await store.SaveAsync(current);

        Assert.False(await store.RemoveGoneAsync(old));
        Assert.Equal([current], await store.GetAsync(User("eve")));
        Assert.True(await store.RemoveGoneAsync(current));
        Assert.Empty(await store.GetAsync(User("eve")));
        Assert.False(await store.RemoveGoneAsync(current));
    }

    [SkippableFact]
    public async Task Removing_matches_device_and_endpoint_and_never_touches_another_user()
    {
        var store = await OpenStoreAsync();
        var (phone, laptop, tablet) = (Subscription("fay", "phone"), Subscription("fay", "laptop", "https://push.example/l"), Subscription("fay", "tablet"));
        foreach (var s in new[] { phone, laptop, tablet, Subscription("gus", "phone") }) await store.SaveAsync(s);

        Assert.Equal(0, await store.RemoveAsync(User("fay"), "phone", "https://push.example/other"));
        Assert.Equal(1, await store.RemoveAsync(User("fay"), "phone", null));
        Assert.Equal(1, await store.RemoveAsync(User("fay"), null, "https://push.example/l"));
        Assert.Equal([tablet], await store.GetAsync(User("fay")));
        Assert.Equal(1, await store.RemoveAsync(User("fay"), null, null));
        Assert.Empty(await store.GetAsync(User("fay")));
        Assert.Single(await store.GetAsync(User("gus")));
    }
}
