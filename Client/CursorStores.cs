using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Client;

/// <summary>What a device must remember across restarts: its acknowledged inbox and group cursors and the highest <c>req</c> it may have used.</summary>
public sealed record CursorState
{
    /// <summary>Last inbox <c>seq</c> this device acknowledged (or surfaced just before it closed); null when none yet.</summary>
    [JsonPropertyName("seq")] public long? Seq { get; init; }

    /// <summary>Every <c>req</c> this device has put on the wire is at most this; new ones start above it.</summary>
    [JsonPropertyName("reqHigh")] public long ReqHigh { get; init; }

    /// <summary>
    /// Per group this device has received from, the highest contiguous <c>cseq</c> surfaced (sent in <c>hello.groups</c>).
    /// Small groups are kept too: one that grows past the write-diffusion limit while the device is away then resumes
    /// from here instead of from the group's head.
    /// </summary>
    [JsonPropertyName("groups")] public Dictionary<string, long>? Groups { get; init; }
}

/// <summary>Persists one device's <see cref="CursorState"/>. Saves are never concurrent; the latest save wins.</summary>
public interface ICursorStore
{
    /// <summary>The saved state, or null when there is none.</summary>
    ValueTask<CursorState?> LoadAsync(CancellationToken cancellationToken);

    ValueTask SaveAsync(CursorState state, CancellationToken cancellationToken);
}

/// <summary>Keeps the state in memory: survives reconnects but not restarts (reqs then restart from the clock).</summary>
public sealed class InMemoryCursorStore : ICursorStore
{
    private volatile CursorState? _state;

    public InMemoryCursorStore(CursorState? initial = null) => _state = initial;

    /// <summary>The last saved state.</summary>
    public CursorState? Current => _state;

    public ValueTask<CursorState?> LoadAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_state);

    public ValueTask SaveAsync(CursorState state, CancellationToken cancellationToken)
    {
        _state = state;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Keeps the state in a JSON file, replaced atomically on each save (write a temporary file, flush, rename).</summary>
public sealed class FileCursorStore(string path) : ICursorStore
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>
    /// A missing or unreadable file counts as no state: both fallbacks are safe (the server resumes from the cursor
    /// it recorded from this device's acks, and reqs restart from the clock).
    /// </summary>
    public async ValueTask<CursorState?> LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
            return await JsonSerializer.DeserializeAsync(stream, ClientJson.Default.CursorState, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    public async ValueTask SaveAsync(CursorState state, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true))
        {
            await JsonSerializer.SerializeAsync(stream, state, ClientJson.Default.CursorState, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, Path, overwrite: true);
    }
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CursorState))]
internal sealed partial class ClientJson : JsonSerializerContext;
