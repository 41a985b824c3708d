using System.Diagnostics;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Xunit.Abstractions;

namespace Doorman.Tests.Fixtures;

/// <summary>The synthetic benchmark batches: the committed one is the generator's, and both sizes hold what they promise.</summary>
public sealed class SyntheticSyncTests(ITestOutputHelper output)
{
    [Fact]
    public void The_committed_1k_batch_is_what_the_generator_makes_from_the_recorded_shapes()
    {
        Assert.True(SyntheticSync.Generate(1_000) == SyncFixtures.Text(SyntheticSync.OneThousandFile),
            "Fixtures/sync/synthetic-1k.json differs from SyntheticSync.Generate(1000): after re-recording, regenerate it with " +
            "DOORMAN_RECORD_FIXTURES=1 dotnet test tests/Doorman.Tests --filter FullyQualifiedName~Regenerate_the_committed_synthetic_batch");
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(10_000)]
    public void A_synthetic_batch_has_its_events_across_50_rooms_and_1_percent_gate_commands(int size)
    {
        var watch = Stopwatch.StartNew();
        var json = SyntheticSync.Load(size);
        var made = watch.Elapsed;
        var sync = JsonSerializer.Deserialize(json, MatrixJson.SyncResponse)!;
        output.WriteLine($"{size} events: {json.Length / 1024} KiB, made in {made.TotalMilliseconds:F0} ms, parsed in {(watch.Elapsed - made).TotalMilliseconds:F0} ms");

        var rooms = sync.Rooms!.Join!;
        var events = rooms.Values.SelectMany(r => r.Timeline!.Events!).ToList();
        Assert.Equal(50, rooms.Count);
        Assert.All(rooms.Values, r => Assert.NotEmpty(r.Timeline!.Events!));
        Assert.Equal(size, events.Count);
        Assert.Equal(size, events.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(size / 100, events.Count(e => e.Type == EventTypes.Message && e.ContentString("body") is { } body
            && body.StartsWith("!gate", StringComparison.Ordinal)));
        Assert.Contains(events, e => e.Type == EventTypes.Member && e.ContentString("membership") == Membership.Knock);
        Assert.Contains(events, e => e.ContentString("msgtype") == MessageContent.Notice && e.UnsignedData?.TransactionId is not null);
        Assert.Contains(rooms.Keys, id => !id.Contains(':', StringComparison.Ordinal)); // room v12 ids too
    }

    [RecordFixturesFact]
    public void Regenerate_the_committed_synthetic_batch() => SyntheticSync.RegenerateCommitted();
}
