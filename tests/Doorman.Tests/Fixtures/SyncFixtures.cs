using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix;
using Doorman.Matrix.Sync;
using Doorman.Tests.Peers;

namespace Doorman.Tests.Fixtures;

/// <summary>
/// <c>/sync</c> responses recorded from a real Synapse (<c>Fixtures/sync/*.json</c>, exactly as the server sent
/// them, pretty-printed) and the manifest that says, for each, whose sync it is and which room and users it shows.
/// The files are copied beside the test assembly; <see cref="SyncFixtureRecorder"/> writes them into the source tree.
/// </summary>
public static class SyncFixtures
{
    /// <summary>Where the tests read the fixtures: the copy in the build output.</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "sync");

    /// <summary>Where the recorder and the generator write them: the source tree.</summary>
    public static string SourceDirectory => Path.Combine(JsPeerEnvironment.RepoRoot, "tests", "Doorman.Tests", "Fixtures", "sync");

    /// <summary>Indented, and HTML left readable (<c>formatted_body</c>): these files are for people too.</summary>
    public static JsonSerializerOptions WriteOptions { get; } = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string FilePath(string name) => Path.Combine(Directory, name + ".json");

    public static string Text(string name) => File.ReadAllText(FilePath(name));

    /// <summary>A fixture's text from another folder (the source tree, right after recording).</summary>
    public static string Text(string name, string directory) => File.ReadAllText(Path.Combine(directory, name + ".json"));

    /// <summary>The fixture parsed by the bot's own model, as the sync loop would.</summary>
    public static SyncResponse Parse(string name) =>
        JsonSerializer.Deserialize(Text(name), MatrixJson.SyncResponse) ?? throw new InvalidDataException($"{name}.json is null");

    /// <summary>manifest.json: per fixture, a description, the syncing user, and the ids the tests check against.</summary>
    public static JsonObject Manifest => JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "manifest.json")))!.AsObject();

    public static JsonObject Entry(string name) => Manifest[name]?.AsObject() ?? throw new InvalidDataException($"manifest.json has no '{name}'");
}

/// <summary>A test that records fixtures: skipped unless <c>DOORMAN_RECORD_FIXTURES=1</c> and a Synapse is configured.</summary>
public sealed class RecordFixturesFactAttribute : FactAttribute
{
    public RecordFixturesFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("DOORMAN_RECORD_FIXTURES") != "1")
        {
            Skip = "records fixtures into the source tree: run with DOORMAN_RECORD_FIXTURES=1 (and DOORMAN_SYNAPSE_URL for the /sync recordings)";
        }
    }
}
