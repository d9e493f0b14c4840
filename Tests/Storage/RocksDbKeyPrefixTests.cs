using System.Reflection;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Storage;

/// <summary>
/// Every RocksDB adapter shares one database, told apart by a one-byte key prefix (docs/data-model.md): two kinds of
/// record on one prefix would read each other's keys.
/// </summary>
public sealed class RocksDbKeyPrefixTests
{
    [Fact]
    public void Every_record_kind_of_every_RocksDB_adapter_has_its_own_key_prefix()
    {
        var prefixes = typeof(RocksDbDatabase).Assembly.GetTypes()
            .Where(t => t.Name.StartsWith("RocksDb", StringComparison.Ordinal))
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType == typeof(byte))
                .Select(f => (Name: $"{t.Name}.{f.Name}", Prefix: (char)(byte)f.GetRawConstantValue()!)))
            .ToList();

        Assert.True(prefixes.Count >= 20, $"found only {prefixes.Count} prefixes: the search no longer sees the adapters' constants");
        var shared = prefixes.GroupBy(p => p.Prefix).Where(g => g.Count() > 1).Select(g => $"'{g.Key}': {string.Join(", ", g.Select(p => p.Name))}").ToList();
        Assert.True(shared.Count == 0, string.Join("; ", shared));
    }
}
