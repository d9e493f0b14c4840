using System.Text;
using AspireChat.Protocol;

namespace AspireChat.Tests.Protocol;

/// <summary>
/// Mutation fuzzing of the frame decoder: whatever bytes arrive, decoding either yields a frame or a
/// <see cref="FrameException"/> (answered as <c>bad_frame</c>) — never another exception that would
/// take the connection down. Seeded, so a failure reproduces.
/// </summary>
public sealed class FrameCodecFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"t":"hello","token":"abc","device":"phone","cursor":5,"groups":{"g1":3}}""",
        """{"t":"send","req":1,"ope":0,"to":"bob","type":1,"body":{"text":"hi","n":[1,2,{"x":null}]},"ex":{"k":true}}""",
        """{"t":"ack","seq":10}""",
        """{"t":"ack","group":"g1","cseq":4}""",
        """{"t":"sync","after":0,"limit":100}""",
        """{"t":"gsync","group":"g1","after":2,"limit":50}""",
        """{"t":"ping"}""",
    ];

    private static readonly byte[] Interesting = Encoding.UTF8.GetBytes("{}[]\":,0123456789-+.eEtrufalsn\\ \u00e9\uffff");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Any_mutation_of_a_valid_frame_decodes_or_is_a_bad_frame(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 20_000; i++)
        {
            var frame = Mutate(Encoding.UTF8.GetBytes(Seeds[random.Next(Seeds.Length)]), random);
            try
            {
                var type = FrameCodec.ReadType(frame);
                switch (type)
                {
                    case FrameTypes.Hello: FrameCodec.Read<HelloFrame>(frame); break;
                    case FrameTypes.Send: FrameCodec.Read<SendFrame>(frame); break;
                    case FrameTypes.Ack: FrameCodec.Read<AckFrame>(frame); break;
                    case FrameTypes.Sync: FrameCodec.Read<SyncFrame>(frame); break;
                    case FrameTypes.Gsync: FrameCodec.Read<GsyncFrame>(frame); break;
                    case FrameTypes.Ping: FrameCodec.Read<PingFrame>(frame); break;
                }
            }
            catch (FrameException e)
            {
                Assert.Equal(ErrorCodes.BadFrame, e.Code);
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {i}: {e.GetType().Name}: {e.Message}\nframe: {Encoding.UTF8.GetString(frame)}");
            }
        }
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        var bytes = new List<byte>(input);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0: bytes[at] = (byte)random.Next(256); break;
                case 1: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;
                case 2: bytes.Insert(at, Interesting[random.Next(Interesting.Length)]); break;
                case 3: bytes.RemoveAt(at); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }
        return [.. bytes];
    }
}
