using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Tests.Support;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The invoice's QR code, as a member's wallet would scan it, on the in-process sandbox.</summary>
public sealed class InvoiceQrTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Scenario _scenario = null!;

    public async Task InitializeAsync() => _scenario = await Scenario.StartAsync(await SandboxTestHomeserver.StartAsync(), output);

    public async Task DisposeAsync()
    {
        await _scenario.DisposeAsync();
        await _scenario.Homeserver.DisposeAsync();
    }

    /// <summary>
    /// Two rooms, two invoices: each QR image, downloaded through authenticated media and scanned, holds the
    /// invoice of the text message just before it, as <c>LIGHTNING:</c> and the BOLT11 in upper case
    /// (src/Doorman/Messaging/QrCodes.cs). A QR code of the other invoice, or of anything else, fails.
    /// </summary>
    [Fact]
    public async Task Each_invoice_QR_code_scans_as_the_invoice_sent_just_before_it()
    {
        var s = _scenario;
        await s.StartBotAsync();
        var dm = await s.MemberOpensDmAsync();
        Assert.True(s.Member.Client.Support.AuthenticatedMedia, "downloads go through /_matrix/client/v1/media/download");

        var invoices = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var (roomId, alias) = await s.OwnerMakesRoomAsync();
            await s.OwnerGatesAsync(roomId, $"{10 + i} sats per 30d");
            var mark = s.Member.Mark;
            var bolt11 = await s.MemberAsksToJoinAsync(dm, alias);
            var image = await s.Member.WaitForAsync(dm, e => e.Sender == s.BotUserId && e.ContentString("msgtype") == MessageContent.Image,
                Scenario.Patience, "the invoice's QR code", mark);

            Assert.Equal(bolt11, InvoiceJustBefore(s.Member, dm, s.BotUserId, image));
            var (png, contentType) = await s.Member.Client.DownloadAsync(image.ContentString("url")!, default);
            Assert.Equal("image/png", contentType);
            var scanned = QrScanner.Scan(png);
            s.Log($"QR code of {png.Length} bytes scans as {scanned}");
            Assert.Equal("LIGHTNING:" + bolt11.ToUpperInvariant(), scanned);
            invoices.Add(bolt11);
        }
        Assert.NotEqual(invoices[0], invoices[1]);
    }

    /// <summary>The BOLT11 in the bot's last message before <paramref name="image"/> in the room, as the member saw them.</summary>
    private static string? InvoiceJustBefore(Player member, string roomId, string botUserId, ClientEvent image) =>
        member.Seen.Where(x => x.RoomId == roomId && x.Event.Type == EventTypes.Message && x.Event.Sender == botUserId)
            .Select(x => x.Event).TakeWhile(e => e.EventId != image.EventId).Select(e => Player.FindInvoice(Player.BodyOf(e))).LastOrDefault();
}
