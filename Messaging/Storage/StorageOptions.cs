namespace AspireChat.Messaging.Storage;

/// <summary><c>Storage:*</c> settings of the embedded stores.</summary>
public sealed class StorageOptions
{
    /// <summary>Default folder of the embedded RocksDB store, relative to the working directory.</summary>
    public const string DefaultPath = "data";

    /// <summary>How long (re)sends are deduplicated by (user, device, req); every store keeps send records this long.</summary>
    public static readonly TimeSpan SendDedupRetention = TimeSpan.FromDays(7);

    /// <summary>Folder of the embedded RocksDB store.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary><c>Normal</c>: a write survives a crash of the process; <c>Full</c>: also a power cut (an fsync per batch).</summary>
    public StorageSynchronous Synchronous { get; set; } = StorageSynchronous.Normal;
}

/// <summary>How hard a committed batch is pushed to the disk.</summary>
public enum StorageSynchronous
{
    /// <summary>Write-ahead log written, not fsynced: survives kill -9, not a power cut.</summary>
    Normal,
    /// <summary>Write-ahead log fsynced per batch.</summary>
    Full,
}
