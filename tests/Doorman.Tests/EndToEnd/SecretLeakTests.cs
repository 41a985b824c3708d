using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Doorman.Matrix.Events;
using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Players;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The main story, a refused invite and a payment backend failure, with every secret configured (from files, as a
/// Docker deployment would): no log line the bot wrote (with its exception's text) and no message anyone saw holds a
/// secret, in any of the forms it travels in.
/// </summary>
public sealed class SecretLeakTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("lnd")]
    [InlineData("btcpay")]
    public async Task No_log_line_or_chat_message_holds_a_configured_secret(string backend)
    {
        var homeserver = await SandboxTestHomeserver.StartAsync();
        await using var _ = homeserver;
        await using var s = await Scenario.StartAsync(homeserver, output, backend == "lnd" ? null : async _ => await BtcPayTestPayments.StartAsync(webhooks: true));
        var cryptoKey = RandomNumberGenerator.GetBytes(32);
        var webhookSecret = "whsec-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var secrets = new List<string> { s.BotToken, Convert.ToBase64String(cryptoKey), Convert.ToHexString(cryptoKey), Base64Url.EncodeToString(cryptoKey) };
        if (s.Payments is BtcPayTestPayments btcPay)
            secrets.AddRange([btcPay.ApiKey, webhookSecret]);
        else
            secrets.AddRange(Forms(Convert.FromHexString(s.Lightning.InvoiceMacaroonHex)));

        string Write(string name, string content)
        {
            var path = Path.Combine(s.Dir.Path, name);
            File.WriteAllText(path, content + "\n");
            return path;
        }
        var files = new Dictionary<string, string?>
        {
            ["Matrix:AccessTokenFile"] = Write("matrix_access_token", s.BotToken),
            ["Matrix:CryptoKeyFile"] = Write("crypto_key", Convert.ToBase64String(cryptoKey)),
            ["Matrix:AllowedInviters:0"] = s.Owner.UserId,
        };
        if (s.Payments is BtcPayTestPayments configured)
        {
            files["Payments:BtcPay:ApiKeyFile"] = Write("btcpay_api_key", configured.ApiKey);
            files["Payments:BtcPay:WebhookSecretFile"] = Write("btcpay_webhook_secret", webhookSecret);
        }
        s.LogExceptions = true;
        s.Configure = settings =>
        {
            settings.Remove("Matrix:AccessToken");
            settings.Remove("Payments:BtcPay:ApiKey");
            foreach (var (key, value) in files)
                settings[key] = value;
        };

        await Scenarios.PayJoinExpireAsync(s, inviteWithinSeconds: 10);

        // A refused invite: the member is not an allowed inviter; the bot declines.
        var theirs = await s.Member.CreateRoomAsync(name: "not yours");
        await s.Member.Client.InviteAsync(theirs, s.BotUserId, null, default);
        await s.Member.WaitForMembershipAsync(theirs, s.BotUserId, Membership.Leave, Scenario.Patience);

        // The payment backend fails while the member asks for an invoice.
        var (roomId, alias) = await s.OwnerMakesRoomAsync();
        await s.OwnerGatesAsync(roomId, "10 sats per 30d");
        var dm = await s.MemberOpensDmAsync();
        if (s.Payments is BtcPayTestPayments down)
        {
            await down.Server.GoDownAsync(SandboxBtcPayOutage.ServiceUnavailable);
            var mark = s.Member.Mark;
            await s.Member.SayAsync(dm, "join " + alias);
            await s.Member.WaitForMessageAsync(dm, b => b.Contains("try again", StringComparison.Ordinal), Scenario.Patience, mark);
            await down.Server.ComeBackAsync();
        }
        else
        {
            s.Lightning.DropStreams();
            await s.Payments.PayAsync(await s.MemberAsksToJoinAsync(dm, alias));
            await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        }
        await s.StopBotAsync();

        var log = s.BotLog;
        var seen = s.Owner.Seen.Concat(s.Member.Seen).Select(e => Player.BodyOf(e.Event) + "\n" + e.Event.Content.GetRawText()).ToList();
        Assert.Contains(log, l => l.StartsWith("Information Doorman.Inbox", StringComparison.Ordinal) && l.Contains("Declined an invite", StringComparison.Ordinal));
        Assert.Contains(seen, m => m.Contains(alias, StringComparison.Ordinal));
        output.WriteLine($"scanned {log.Count} log lines and {seen.Count} events for {secrets.Count} secret forms");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(log, l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(seen, m => m.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>A binary secret as hex, base64 and base64url (how a macaroon travels: hex in gRPC metadata, base64 in lndconnect).</summary>
    private static IEnumerable<string> Forms(byte[] secret) =>
        [Convert.ToHexString(secret), Convert.ToBase64String(secret), Base64Url.EncodeToString(secret), Encoding.Latin1.GetString(secret)];
}
