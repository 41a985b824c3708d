using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Sandbox.Players;
using Doorman.Tests.Peers;
using Doorman.Tests.Support;
using Doorman.TestSupport;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The whole bot with a member on Element's own crypto (matrix-sdk-crypto-wasm, the crypto peer): the member opens
/// an encrypted DM, asks to join in it with "exclude insecure devices" on, and reads the bot's encrypted invoice and
/// its encrypted QR image, requiring the bot's device to be cross-signed.
/// </summary>
public sealed class ElementMemberTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    [CryptoPeerFact]
    public Task An_Element_member_joins_from_an_encrypted_DM_and_reads_the_encrypted_invoice_and_QR_code() => ElementMember.StoryAsync(S);
}

/// <summary>The same story on the real Synapse.</summary>
public sealed class SynapseElementMemberTests(ITestOutputHelper output) : SynapseScenarioTests(output)
{
    protected override bool CanRun => CryptoPeerEnvironment.UnavailableReason is null;


    [SynapseCryptoPeerFact]
    public Task An_Element_member_joins_from_an_encrypted_DM_and_reads_the_encrypted_invoice_and_QR_code() => ElementMember.StoryAsync(S);
}

internal static class ElementMember
{
    public static async Task StoryAsync(Scenario s)
    {
        await s.StartBotAsync();
        var (roomId, alias) = await s.OwnerMakesRoomAsync();
        await s.OwnerGatesAsync(roomId, "21 sats per 30d");
        var (eveId, eveToken) = await s.Homeserver.RegisterAsync("eve");
        using var eve = MatrixClient.Create(s.Homeserver.Url, eveToken);
        await using var peer = await CryptoPeer.StartAsync();
        var element = (await peer.CallAsync("element.start", new JsonObject
        {
            ["homeserver"] = s.Homeserver.Url.ToString(),
            ["userId"] = eveId,
            ["accessToken"] = eveToken,
        }))!["handle"]!.GetValue<string>();

        // A DM as Element opens one: encrypted from the start.
        var dm = await eve.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.TrustedPrivateChat,
            IsDirect = true,
            Invite = [s.BotUserId],
            InitialState = [new InitialStateEvent { Type = EventTypes.Encryption, Content = Json("""{"algorithm":"m.megolm.v1.aes-sha2"}""") }],
        }, default);
        // Watched through plain client calls: a Player on eve's token would be a second crypto client on her one device.
        await WaitForMembershipAsync(eve, dm, s.BotUserId, Membership.Join);

        var asked = Stopwatch.StartNew();
        var sent = (await peer.CallAsync("element.send", new JsonObject
        {
            ["handle"] = element,
            ["roomId"] = dm,
            ["members"] = new JsonArray(eveId, s.BotUserId),
            ["strategy"] = "identity",
            ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = "join " + alias },
        }))!;
        Assert.Contains(sent["shared"]!.AsArray(), share => share!["user"]!.GetValue<string>() == s.BotUserId && share["as"]!.GetValue<string>() == "m.room.encrypted");

        // Element reads the bot's answers, refusing any from a device its owner did not cross-sign.
        JsonNode? invoice = null, qr = null;
        while (invoice is null || qr is null)
        {
            Assert.True(asked.Elapsed < Scenario.Patience, "Element did not read the invoice and its QR code in time");
            await peer.CallAsync("element.sync", new JsonObject { ["handle"] = element });
            var messages = (await peer.CallAsync("element.messages", new JsonObject
            {
                ["handle"] = element,
                ["roomId"] = dm,
                ["sender"] = s.BotUserId,
                ["trust"] = "crossSignedOrLegacy",
            }))!.AsArray();
            Assert.All(messages, m => Assert.True(m!["error"] is null, $"Element could not read {m["eventId"]}: {m["error"]}"));
            invoice = messages.FirstOrDefault(m => m!["content"]?["body"]?.GetValue<string>().Contains("lnbcrt", StringComparison.Ordinal) == true);
            qr = messages.FirstOrDefault(m => m!["content"]?["msgtype"]?.GetValue<string>() == MessageContent.Image);
            if (invoice is null || qr is null)
                await Task.Delay(200);
        }
        s.Log($"Element asked in an encrypted DM; the encrypted invoice and QR code read after {asked.ElapsedMilliseconds} ms");

        var bolt11 = Player.FindInvoice(invoice["content"]!["body"]!.GetValue<string>())!;
        var file = qr["content"]!["file"]!.AsObject();
        Assert.Null(qr["content"]!["url"]);
        var (ciphertext, _) = await eve.DownloadAsync(file["url"]!.GetValue<string>(), default);
        var png = Convert.FromBase64String(await peer.CallForStringAsync("element.decryptAttachment", new JsonObject
        {
            ["ciphertext"] = Convert.ToBase64String(ciphertext),
            ["file"] = file.DeepClone(),
        }));
        Assert.Equal("LIGHTNING:" + bolt11.ToUpperInvariant(), QrScanner.Scan(png));

        await s.Payments.PayAsync(bolt11);
        await WaitForMembershipAsync(s.Owner.Client, roomId, eveId, Membership.Invite);
        s.Log($"Element's member paid and was invited, {asked.ElapsedMilliseconds} ms after asking");
    }

    private static Task WaitForMembershipAsync(MatrixClient client, string roomId, string userId, string membership) =>
        Eventually.UntilAsync(async () => await client.GetMembershipAsync(roomId, userId, default) == membership,
            $"{userId} to be '{membership}' in {roomId}", Scenario.Patience);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
