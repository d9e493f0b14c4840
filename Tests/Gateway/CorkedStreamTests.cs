using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using AspireChat.Gateway.Connections;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>The cork under a connection's WebSocket: one write and one flush of the transport per drain of its output.</summary>
public sealed class CorkedStreamTests
{
    [Fact]
    public async Task Writes_while_corked_reach_the_connection_as_one_write_and_one_flush_on_uncork()
    {
        var transport = new RecordingStream();
        var cork = new CorkedStream(transport);

        cork.Cork();
        await cork.WriteAsync("ab"u8.ToArray());
        await cork.FlushAsync();
        await cork.WriteAsync("cd"u8.ToArray());
        await cork.FlushAsync();
        Assert.Equal((0, 0), (transport.Writes, transport.Flushes));

        await cork.UncorkAsync(CancellationToken.None);
        Assert.Equal((1, 1, "abcd"), (transport.Writes, transport.Flushes, transport.Text));

        // Uncorked, a write goes straight through (the WebSocket's own pongs and close frame), and so does its flush.
        await cork.WriteAsync("e"u8.ToArray());
        await cork.FlushAsync();
        Assert.Equal((2, 2, "abcde"), (transport.Writes, transport.Flushes, transport.Text));
    }

    [Fact]
    public async Task A_zero_byte_read_goes_through_to_the_connection()
    {
        var transport = new RecordingStream();
        var cork = new CorkedStream(transport);
        Assert.Equal(0, await cork.ReadAsync(Memory<byte>.Empty));
        Assert.Equal([0], transport.Reads);
    }

    [Fact]
    public async Task A_burst_queued_in_a_connections_output_arrives_whole_and_in_order_with_one_flush_per_drain()
    {
        var (serverSide, clientSide) = DuplexPair();
        var counted = new RecordingStream(serverSide);
        var cork = new CorkedStream(counted);
        using var server = WebSocket.CreateFromStream(cork, new WebSocketCreationOptions { IsServer = true });
        using var client = WebSocket.CreateFromStream(clientSide, new WebSocketCreationOptions { IsServer = false });
        var output = new FrameOutput(server, 16 * 1024 * 1024, CancellationToken.None, cork);

        const int count = 200;
        // The first drain's write waits until every frame is queued: the next drain takes all that waits, one flush.
        counted.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 1; i <= count; i++) Assert.True(output.TryWrite(Encoding.UTF8.GetBytes($"{{\"t\":\"msg\",\"n\":{i}}}")));
        counted.Hold.SetResult();

        var buffer = new byte[1024];
        for (var i = 1; i <= count; i++)
        {
            var result = await client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Deadline);
            Assert.True(result.EndOfMessage);
            Assert.Equal($"{{\"t\":\"msg\",\"n\":{i}}}", Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
        Assert.True(counted.Flushes <= 2, $"{counted.Flushes} flushes for {count} frames");
        Assert.Equal(counted.Flushes, counted.Writes);

        // The close frame still goes out (uncorked) and ends the output.
        output.Complete(1000, "done");
        var close = await client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Deadline);
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
    }

    private static (Stream Server, Stream Client) DuplexPair()
    {
        var toClient = new Pipe();
        var toServer = new Pipe();
        return (new Duplex(toServer.Reader.AsStream(), toClient.Writer.AsStream()), new Duplex(toClient.Reader.AsStream(), toServer.Writer.AsStream()));
    }

    private sealed class Duplex(Stream read, Stream write) : Stream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => read.ReadAsync(buffer, offset, count, cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => write.WriteAsync(buffer, offset, count, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);
        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);
        public override void Flush() => write.Flush();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Counts the writes and flushes that reach it; passes them on to <paramref name="next"/> when given.</summary>
    private sealed class RecordingStream(Stream? next = null) : Stream
    {
        private readonly MemoryStream _written = new();
        public int Writes;
        public int Flushes;
        public readonly List<int> Reads = [];

        /// <summary>While set and not completed, a write waits for it.</summary>
        public TaskCompletionSource? Hold;

        public string Text => Encoding.UTF8.GetString(_written.ToArray());

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Writes);
            if (Hold is { } hold) await hold.Task;
            lock (_written) _written.Write(buffer.Span);
            if (next is not null) await next.WriteAsync(buffer, cancellationToken);
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Flushes);
            if (next is not null) await next.FlushAsync(cancellationToken);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (Reads) Reads.Add(buffer.Length);
            return next is null ? 0 : await next.ReadAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
