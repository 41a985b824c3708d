using System.Text.Json;

namespace Doorman.Matrix.Tests.Sync;

public class EncryptionSyncFieldsTests
{
    [Fact]
    public void To_device_events_device_lists_and_key_counts_are_read_and_a_malformed_to_device_event_is_skipped_alone()
    {
        // CS API "Extensions to /sync" (End-to-End Encryption module) and "Send-to-Device messaging".
        const string body = """
            {
              "next_batch": "s2",
              "to_device": {"events": [
                {"type": "m.room.encrypted", "sender": "@ann:example.org",
                 "content": {"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": "abc", "ciphertext": {}}},
                {"type": "m.room.encrypted", "sender": 42, "content": {}},
                {"type": "m.dummy", "sender": "@bob:example.org", "content": {}}
              ]},
              "device_lists": {"changed": ["@ann:example.org"], "left": ["@cy:example.org"]},
              "device_one_time_keys_count": {"signed_curve25519": 7},
              "device_unused_fallback_key_types": ["signed_curve25519"]
            }
            """;

        var response = JsonSerializer.Deserialize(body, MatrixJson.SyncResponse)!;

        Assert.Equal(["m.room.encrypted", "m.dummy"], response.ToDevice!.Events!.Select(e => e.Type));
        Assert.Equal("@ann:example.org", response.ToDevice.Events![0].Sender);
        Assert.Equal(["@ann:example.org"], response.DeviceLists!.Changed!);
        Assert.Equal(["@cy:example.org"], response.DeviceLists.Left!);
        Assert.Equal(7, response.OneTimeKeysCount!["signed_curve25519"]);
        Assert.Equal(["signed_curve25519"], response.UnusedFallbackKeyTypes!);
        var skipped = response.CountSkippedEvents();
        Assert.Equal(1, skipped.Count);
        Assert.Equal(1, skipped.ToDevice);
        Assert.Equal("to-device: 1", skipped.ToString());
    }

    [Fact]
    public void A_server_without_fallback_keys_leaves_the_field_out_which_differs_from_an_empty_list()
    {
        var without = JsonSerializer.Deserialize("""{"next_batch": "s"}""", MatrixJson.SyncResponse)!;
        var used = JsonSerializer.Deserialize("""{"next_batch": "s", "device_unused_fallback_key_types": []}""", MatrixJson.SyncResponse)!;

        Assert.Null(without.UnusedFallbackKeyTypes);
        Assert.Empty(used.UnusedFallbackKeyTypes!);
    }
}
