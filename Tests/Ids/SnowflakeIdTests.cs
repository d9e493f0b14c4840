using AspireChat.Messaging.Ids;

namespace AspireChat.Tests.Ids;

public sealed class SnowflakeIdTests
{
    [Fact]
    public void An_id_decomposes_to_the_fields_it_was_composed_from()
    {
        var epoch = new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero);
        long id = SnowflakeId.Compose(millis: 86_400_123, workerId: 1023, sequence: 4095);

        var parts = SnowflakeId.Decompose(id, epoch);

        Assert.Equal(new SnowflakeIdParts(86_400_123, epoch.AddMilliseconds(86_400_123), 1023, 4095), parts);
    }

    [Fact]
    public void The_largest_fields_make_the_largest_positive_id()
    {
        Assert.Equal(long.MaxValue, SnowflakeId.Compose(SnowflakeId.MaxMillis, SnowflakeId.MaxWorkerId, SnowflakeId.MaxSequence));
    }

    [Fact]
    public void Ids_order_by_millisecond_before_worker_and_sequence()
    {
        Assert.True(SnowflakeId.Compose(501, 0, 0) > SnowflakeId.Compose(500, SnowflakeId.MaxWorkerId, SnowflakeId.MaxSequence));
        Assert.True(SnowflakeId.Compose(500, 3, 1) > SnowflakeId.Compose(500, 3, 0));
    }

    [Theory]
    [InlineData(-1, 0, 0)]
    [InlineData(0, 1024, 0)]
    [InlineData(0, -1, 0)]
    [InlineData(0, 0, 4096)]
    public void Fields_out_of_range_are_rejected(long millis, int workerId, int sequence)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SnowflakeId.Compose(millis, workerId, sequence));
    }
}
