using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Doorman.Bench;
using Doorman.Matrix;
using Doorman.Matrix.Sync;
using Doorman.Tests.Fixtures;

namespace Doorman.Benchmarks;

/// <summary>
/// A <c>/sync</c> batch of <see cref="Events"/> timeline events across 50 rooms, 1 % <c>!gate</c> commands
/// (tests/Doorman.Tests/Fixtures/SyntheticSync.cs; the 1,000 one is the committed <c>synthetic-1k.json</c>), compact
/// as a homeserver sends it. Mean time and allocation are per batch; the EventsPerSecond and AllocatedPerEvent columns
/// divide by the event count.
/// </summary>
[MemoryDiagnoser]
public class SyncBenchmarks
{
    private readonly List<GateCommand> _commands = [];
    private byte[] _json = [];

    [Params(1_000, 10_000)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _json = CompactSync.Load(Events);
        // The dispatch must find exactly the generator's commands, or the benchmark measures the wrong work.
        if (ParseAndDispatch() != Events / 100)
            throw new InvalidOperationException($"expected {Events / 100} !gate commands in the {Events}-event batch");
    }

    /// <summary><c>MatrixJson.SyncResponse</c> from bytes in memory.</summary>
    [Benchmark(Baseline = true)]
    public SyncResponse Parse() => JsonSerializer.Deserialize(_json, MatrixJson.SyncResponse)!;

    /// <summary>As <see cref="MatrixClient.SyncAsync"/> reads it: streamed from the response body.</summary>
    [Benchmark]
    public async Task<SyncResponse> ParseStream()
    {
        using var body = new MemoryStream(_json, writable: false);
        return (await JsonSerializer.DeserializeAsync(body, MatrixJson.SyncResponse))!;
    }

    /// <summary>Parse, then what a bot's handler does: walk every joined room's timeline and pick the <c>!gate</c> commands.</summary>
    [Benchmark]
    public int ParseAndDispatch()
    {
        _commands.Clear();
        GateCommands.Collect(JsonSerializer.Deserialize(_json, MatrixJson.SyncResponse)!, ReplayUser, _commands);
        return _commands.Count;
    }

    private const string ReplayUser = "@doorman:localhost";
}
