using AspireChat.Protocol;

namespace AspireChat.Tests.Protocol;

public sealed class FrameCodecTests
{
    [Fact]
    public void Type_is_read_without_reading_the_rest()
    {
        Assert.Equal("send", FrameCodec.ReadType("""{"req":1,"t":"send","body":{"x":[1,2]}}"""u8));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"req":1}""")]
    [InlineData("""{"t":5}""")]
    public void Unreadable_frames_are_bad_frames(string text)
    {
        var e = Assert.Throws<FrameException>(() => FrameCodec.ReadType(System.Text.Encoding.UTF8.GetBytes(text)));
        Assert.Equal(ErrorCodes.BadFrame, e.Code);
    }

    [Fact]
    public void Missing_required_field_is_a_bad_frame_that_names_it()
    {
        var e = Assert.Throws<FrameException>(() => FrameCodec.Read<SendFrame>("""{"t":"send","ope":0,"to":"b","type":1,"body":{}}"""u8));
        Assert.Equal(ErrorCodes.BadFrame, e.Code);
        Assert.Contains("req", e.Message);
    }

    [Fact]
    public void Mistyped_field_is_a_bad_frame()
    {
        var e = Assert.Throws<FrameException>(() => FrameCodec.Read<SendFrame>("""{"t":"send","req":"one","ope":0,"to":"b","type":1,"body":{}}"""u8));
        Assert.Equal(ErrorCodes.BadFrame, e.Code);
    }

    [Fact]
    public void Message_id_is_written_as_a_string()
    {
        var json = System.Text.Encoding.UTF8.GetString(FrameCodec.Write(new SendAckFrame { Req = 7, Id = "1234567890123456789", Conv = "s:a:b", Ts = 1 }));
        Assert.Contains("\"id\":\"1234567890123456789\"", json);
    }

    [Theory]
    [InlineData("b", "a", "s:a:b")]
    [InlineData("a", "b", "s:a:b")]
    public void One_to_one_conversation_orders_its_parties(string from, string to, string conv)
    {
        Assert.Equal(conv, Identifiers.ConversationOf(Ope.OneToOne, from, to));
    }
}
