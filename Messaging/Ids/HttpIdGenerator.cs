using System.Globalization;
using System.Net.Http.Json;

namespace AspireChat.Messaging.Ids;

/// <summary>
/// Ids from a remote IdService (<c>GET /ids?count=N</c>), through a small prefetched block so most
/// calls need no network round trip. Ids from one block are ascending; blocks follow each other.
/// </summary>
public sealed class HttpIdGenerator(HttpClient http, int blockSize = 1024) : IIdGenerator
{
    private readonly SemaphoreSlim _refill = new(1, 1);
    private readonly Queue<long> _block = new();

    public async ValueTask NextIdsAsync(Memory<long> ids, CancellationToken cancellationToken = default)
    {
        await _refill.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var filled = 0;
            while (filled < ids.Length)
            {
                if (_block.Count == 0)
                {
                    var want = Math.Clamp(Math.Max(blockSize, ids.Length - filled), 1, IdEndpoints.MaxBatch);
                    var batch = await http.GetFromJsonAsync($"/ids?count={want}", IdEndpoints.BatchJson, cancellationToken).ConfigureAwait(false)
                        ?? throw new IdGenerationException("the IdService answered nothing");
                    foreach (var id in batch.Ids) _block.Enqueue(long.Parse(id, CultureInfo.InvariantCulture));
                }
                ids.Span[filled++] = _block.Dequeue();
            }
        }
        finally
        {
            _refill.Release();
        }
    }
}
