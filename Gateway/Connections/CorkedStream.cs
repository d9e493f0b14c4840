using System.Buffers;

namespace AspireChat.Gateway.Connections;

/// <summary>
/// The upgraded connection's stream under the server WebSocket, with a cork (as uWebSockets has): while corked, what the
/// WebSocket writes — each frame, and the flush it asks for after each — is gathered in one pooled buffer; uncorking
/// writes it to the connection and flushes once. <see cref="FrameOutput"/> corks the socket for each drain of its queue,
/// so a burst of frames costs one write and one flush of the transport instead of one per frame. Uncorked, writes go
/// straight through (the WebSocket's own pongs, pings and close frame). Reads always go straight through, zero-byte
/// reads included; an idle connection holds no buffer.
/// </summary>
public sealed class CorkedStream(Stream inner) : Stream
{
    private readonly Lock _lock = new();
    // Writes to the connection, one at a time: the drain's uncork and the WebSocket's own frames may meet.
    private readonly SemaphoreSlim _writes = new(1, 1);
    private bool _corked;
    private bool _flushAsked;
    private byte[]? _buffer;
    private int _length;

    /// <summary>From now on writes are gathered until <see cref="UncorkAsync"/>.</summary>
    public void Cork()
    {
        lock (_lock) _corked = true;
    }

    /// <summary>Writes what was gathered to the connection and flushes once; writes go straight through again.</summary>
    public async ValueTask UncorkAsync(CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[]? buffer;
            int length;
            bool flush;
            lock (_lock)
            {
                (buffer, length, flush) = (_buffer, _length, _flushAsked || _length > 0);
                (_corked, _flushAsked, _buffer, _length) = (false, false, null, 0);
            }
            if (buffer is not null)
            {
                try
                {
                    await inner.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            if (flush) await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_corked)
            {
                Gather(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }
        return WriteThroughAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_corked)
            {
                // The uncork flushes: a frame written through just before the cork is flushed with the drain's frames.
                _flushAsked = true;
                return Task.CompletedTask;
            }
        }
        return FlushThroughAsync(cancellationToken);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Release();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Release();
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Release()
    {
        byte[]? buffer;
        lock (_lock)
        {
            (buffer, _buffer, _length, _corked) = (_buffer, null, 0, false);
        }
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Gather(ReadOnlySpan<byte> data)
    {
        if (_buffer is null || _buffer.Length - _length < data.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(4096, Math.Max(_length + data.Length, (_buffer?.Length ?? 0) * 2)));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }
            _buffer = larger;
        }
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    private async ValueTask WriteThroughAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task FlushThroughAsync(CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }
}
