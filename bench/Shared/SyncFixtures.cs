using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Fixtures;

/// <summary>
/// What the synthetic batch generator (<c>tests/Doorman.Tests/Fixtures/SyntheticSync.cs</c>, linked into the bench
/// projects as is) reads from the test project's <c>SyncFixtures</c>: the recorded fixtures, copied beside the bench
/// assembly, and the writer options. Linking the generator keeps one definition of the synthetic batches: the test
/// suite checks that <c>synthetic-1k.json</c> is exactly its output.
/// </summary>
internal static class SyncFixtures
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "sync");

    /// <summary>The generator writes into the source tree only from the test project; here it reads the copy.</summary>
    public static string SourceDirectory => Directory;

    public static JsonSerializerOptions WriteOptions { get; } = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Text(string name) => File.ReadAllText(Path.Combine(Directory, name + ".json"));

    public static string Text(string name, string directory) => File.ReadAllText(Path.Combine(directory, name + ".json"));
}

/// <summary>Synthetic batches as a homeserver sends them: compact JSON, UTF-8 (Synapse does not indent).</summary>
internal static class CompactSync
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The synthetic batch of this many events (the committed <c>synthetic-1k.json</c> for 1,000), compacted.</summary>
    public static byte[] Load(int eventCount) => ToUtf8(JsonNode.Parse(SyntheticSync.Load(eventCount))!);

    public static byte[] ToUtf8(JsonNode sync) => JsonSerializer.SerializeToUtf8Bytes(sync, Compact);
}
