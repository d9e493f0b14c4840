using System.Buffers.Binary;
using System.Text;
using RocksDbSharp;

namespace AspireChat.Messaging.Storage;

/// <summary>
/// The embedded store's engine: one RocksDB database in a folder, shared by the chat, group and push
/// subscription stores. Records of each kind live under their own one-byte key prefix; numbers in keys are
/// big-endian so keys sort by them. The write-ahead log is always on: a write that returned survives a
/// process crash (kill -9); <c>Storage:Synchronous=Full</c> also fsyncs it, so it survives power loss.
/// </summary>
public sealed class RocksDbDatabase : IDisposable
{
    private readonly WriteOptions _write;

    public RocksDbDatabase(string path, bool synchronousFull = false)
    {
        Path = System.IO.Path.GetFullPath(path);
        // The database holds every message body (its write-ahead log in clear): only this user may enter the folder.
        PrivateFiles.CreateFolder(Path);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount))
            // The chat data is written once and read by prefix: a bloom filter per block keeps point reads to one block.
            .SetBlockBasedTableFactory(new BlockBasedTableOptions().SetFilterPolicy(BloomFilterPolicy.Create(10, false)).SetWholeKeyFiltering(true));
        Db = RocksDb.Open(options, Path);
        _write = new WriteOptions().SetSync(synchronousFull);
        SynchronousFull = synchronousFull;
    }

    /// <summary>The folder the database lives in.</summary>
    public string Path { get; }

    /// <summary>Whether every write is fsynced.</summary>
    public bool SynchronousFull { get; }

    internal RocksDb Db { get; }

    /// <summary>
    /// Held by whoever reads index rows (the conversation index, read and delivered positions) to write them back
    /// changed, across the read and the write: two writers over one database never compute from the same stale row.
    /// </summary>
    internal Lock IndexRows { get; } = new();

    /// <summary>The index rows and users' activity as stored, for writers holding <see cref="IndexRows"/>.</summary>
    internal RocksDbIndexRowCache IndexRowCache { get; set; } = new();

    /// <summary>Applies <paramref name="batch"/> atomically and durably (see the class summary).</summary>
    public void Write(WriteBatch batch) => Db.Write(batch, _write);

    /// <summary>Writes one record atomically.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Db.Put(key, value, null, _write);

    /// <summary>Removes one record.</summary>
    public void Remove(ReadOnlySpan<byte> key) => Db.Remove(key, null, _write);

    /// <summary>The value stored under <paramref name="key"/>, or null.</summary>
    public byte[]? Get(ReadOnlySpan<byte> key) => Db.Get(key);

    /// <summary>Records whose key starts with <paramref name="prefix"/>, ascending (or descending), from <paramref name="from"/> when given.</summary>
    /// <remarks>
    /// The iterator reads with the default read options and the prefix is checked here: RocksDbSharp's <c>ReadOptions</c>
    /// has no <c>Dispose</c>, so options made per scan (to set iterate bounds) were each left to the finalizer thread —
    /// about 5 % of the embedded server's CPU at its maximum, one per ack (docs/benchmarks.md, 2026-12-07).
    /// </remarks>
    public IEnumerable<(byte[] Key, byte[] Value)> Scan(byte[] prefix, byte[]? from = null, bool reverse = false)
    {
        using var iterator = Db.NewIterator();
        if (reverse)
        {
            var upper = from ?? KeyBuilder.UpperBound(prefix);
            iterator.SeekForPrev(upper);
            // SeekForPrev stops at a key equal to the bound too: the bound itself is past the prefix.
            if (from is null && iterator.Valid() && iterator.GetKeySpan().SequenceEqual(upper)) iterator.Prev();
        }
        else
        {
            iterator.Seek(from ?? prefix);
        }
        for (; iterator.Valid() && iterator.GetKeySpan().StartsWith(prefix); _ = reverse ? iterator.Prev() : iterator.Next())
        {
            yield return (iterator.Key(), iterator.Value());
        }
    }

    public void Dispose() => Db.Dispose();
}

/// <summary>
/// Builds RocksDB keys: a kind byte, then strings and big-endian 64-bit numbers. A string is escaped and ended by 0
/// (0x00 → 0x01 0x01, 0x01 → 0x01 0x02), so an encoded string never holds a 0 of its own: no two distinct tuples
/// share a key or a prefix whatever the strings contain (a user <c>"a\0b"</c> cannot reach into user <c>"a"</c>'s records),
/// keys still sort by their strings, and strings without 0x00 and 0x01 keep the bytes they always had on disk.
/// </summary>
internal ref struct KeyBuilder
{
    private const byte End = 0x00;
    private const byte Escape = 0x01;

    private byte[] _buffer;
    private int _length;

    public KeyBuilder(byte kind, int capacity = 64)
    {
        _buffer = new byte[capacity];
        _buffer[0] = kind;
        _length = 1;
    }

    /// <summary>Appends a string, escaped, and its 0 terminator.</summary>
    public KeyBuilder Text(string value)
    {
        // Worst case every byte is escaped into two.
        Ensure(2 * Encoding.UTF8.GetMaxByteCount(value.Length) + 1);
        var start = _length;
        var written = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(start));
        var raw = _buffer.AsSpan(start, written);
        if (raw.IndexOfAny(End, Escape) < 0)
        {
            _length += written;
        }
        else
        {
            var copy = raw.ToArray();
            foreach (var b in copy)
            {
                if (b is End or Escape)
                {
                    _buffer[_length++] = Escape;
                    _buffer[_length++] = (byte)(b + 1);
                }
                else
                {
                    _buffer[_length++] = b;
                }
            }
        }
        _buffer[_length++] = End;
        return this;
    }

    /// <summary>Appends a number so that keys sort by it (non-negative values).</summary>
    public KeyBuilder Number(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_length), value);
        _length += 8;
        return this;
    }

    public readonly byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }

    /// <summary>The smallest key above every key that starts with <paramref name="prefix"/>.</summary>
    public static byte[] UpperBound(byte[] prefix)
    {
        var upper = (byte[])prefix.Clone();
        for (var i = upper.Length - 1; i >= 0; i--)
        {
            if (upper[i] != 0xFF)
            {
                upper[i]++;
                return upper.AsSpan(0, i + 1).ToArray();
            }
        }
        return [.. prefix, 0xFF];
    }

    /// <summary>A number as the 8 big-endian bytes stored in keys and values.</summary>
    public static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>The big-endian number at the end of <paramref name="key"/>.</summary>
    public static long LastNumber(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadInt64BigEndian(key[^8..]);

    /// <summary>The strings and number of a key after its kind byte, e.g. (user, device) of a cursor key.</summary>
    public static string TextAt(ReadOnlySpan<byte> key, int index)
    {
        var rest = key[1..];
        for (var i = 0; i < index; i++) rest = rest[(rest.IndexOf(End) + 1)..];
        var encoded = rest[..rest.IndexOf(End)];
        if (encoded.IndexOf(Escape) < 0) return Encoding.UTF8.GetString(encoded);
        var decoded = new byte[encoded.Length];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            decoded[length++] = encoded[i] == Escape && i + 1 < encoded.Length ? (byte)(encoded[++i] - 1) : encoded[i];
        }
        return Encoding.UTF8.GetString(decoded, 0, length);
    }
}
