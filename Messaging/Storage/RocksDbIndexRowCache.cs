namespace AspireChat.Messaging.Storage;

/// <summary>
/// The conversation-index rows and users' latest activity as the last committed batch left them, so a batch moving a
/// row reads neither the row nor the user's by-time keys (a point read and a reverse seek per user per batch — the
/// largest reads left on the embedded send path). Used only under <see cref="RocksDbDatabase.IndexRows"/>, the lock
/// every writer of those rows holds across its read and its write; values enter only after the write that stored them.
/// </summary>
/// <remarks>
/// Bounded by two generations: entries are added to the young one and looked up in both; when the young one is full
/// the old one is dropped and the young one becomes old. A user active in the last generation stays cached.
/// </remarks>
internal sealed class RocksDbIndexRowCache(int capacity = RocksDbIndexRowCache.DefaultCapacity)
{
    /// <summary>Rows (and users) held per generation.</summary>
    public const int DefaultCapacity = 65_536;

    internal readonly record struct Row(long Last, long Ts, long Others);

    private Dictionary<(string User, string Conv), Row> _rows = [], _oldRows = [];
    private Dictionary<string, long> _activity = new(StringComparer.Ordinal), _oldActivity = new(StringComparer.Ordinal);

    public bool TryGetRow(string user, string conv, out Row row) =>
        _rows.TryGetValue((user, conv), out row) || _oldRows.TryGetValue((user, conv), out row);

    public bool TryGetActivity(string user, out long activity) =>
        _activity.TryGetValue(user, out activity) || _oldActivity.TryGetValue(user, out activity);

    /// <summary>A row as it is stored now (read from the database or written by a committed batch).</summary>
    public void SetRow(string user, string conv, Row row)
    {
        if (_rows.Count >= capacity)
        {
            _oldRows = _rows;
            _rows = [];
        }
        _rows[(user, conv)] = row;
    }

    /// <summary>A user's highest stored by-time key, as it is stored now.</summary>
    public void SetActivity(string user, long activity)
    {
        if (_activity.Count >= capacity)
        {
            _oldActivity = _activity;
            _activity = new(StringComparer.Ordinal);
        }
        _activity[user] = activity;
    }

    /// <summary>Drops everything: a write failed and may have stored any part of itself.</summary>
    public void Clear()
    {
        _rows.Clear();
        _oldRows.Clear();
        _activity.Clear();
        _oldActivity.Clear();
    }
}
