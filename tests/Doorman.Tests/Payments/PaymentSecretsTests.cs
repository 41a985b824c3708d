using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Doorman.Access;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Lightning;
using Doorman.Tests.Payments.BtcPay;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

/// <summary>
/// The configured secrets (macaroon, API key, webhook secret) never appear in a <see cref="PaymentBackendException"/>
/// (its message, or its text with inner exceptions as a log prints it) nor in a logged line, whatever fails. Each test
/// first makes every call it can fail, and checks that it did, before looking for the secret.
/// </summary>
public sealed class PaymentSecretsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wrong_macaroon_is_never_quoted(bool refusalsAsLnd)
    {
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { AuthFailuresAsUnknown = refusalsAsLnd });
        var wrong = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(96));
        var lines = new LogLineCollection();
        using var logs = Recording(lines);
        using var backend = Backend(node, macaroonHex: wrong, logger: logs.CreateLogger<LndPaymentBackend>());

        var errors = await LndFailuresAsync(backend);

        Assert.All(errors, e => Assert.StartsWith("LND refused the macaroon", e.Message, StringComparison.Ordinal));
        AssertNeverShown(errors, lines, wrong, Base64Url.EncodeToString(Convert.FromHexString(wrong)), node.AdminMacaroonHex);
    }

    [Fact]
    public async Task An_unreachable_node_is_named_without_the_macaroon()
    {
        var node = await SandboxLightningNode.StartAsync();
        var macaroon = node.InvoiceMacaroonHex;
        var lines = new LogLineCollection();
        using var logs = Recording(lines);
        using var backend = Backend(node, macaroonHex: macaroon, logger: logs.CreateLogger<LndPaymentBackend>());
        await node.DisposeAsync();

        var errors = await LndFailuresAsync(backend);

        Assert.All(errors, e => Assert.Contains("cannot reach LND at https://127.0.0.1:", e.Message, StringComparison.Ordinal));
        AssertNeverShown(errors, lines, macaroon, Base64Url.EncodeToString(Convert.FromHexString(macaroon)));
    }

    [Fact]
    public async Task An_lndconnect_uri_is_never_quoted_when_its_node_fails()
    {
        var node = await SandboxLightningNode.StartAsync();
        await using var impostor = await SandboxLightningNode.StartAsync();
        var macaroon = Base64Url.EncodeToString(Convert.FromHexString(node.InvoiceMacaroonHex));
        var uri = $"lndconnect://127.0.0.1:{node.Address.Port}?cert={Base64Url.EncodeToString(impostor.TlsCertificateDer)}&macaroon={macaroon}";
        var lines = new LogLineCollection();
        using var logs = Recording(lines);
        using var backend = Backend(node, logger: logs.CreateLogger<LndPaymentBackend>(), configure: o =>
        {
            o.Address = null;
            o.MacaroonHex = null;
            o.TlsCertThumbprint = null;
            o.ConnectUri = uri;
        });

        // The URI pins another node's certificate, then the node goes away.
        var pinned = await LndFailuresAsync(backend);
        await node.DisposeAsync();
        var gone = await LndFailuresAsync(backend);

        Assert.All(pinned, e => Assert.StartsWith("LND's TLS certificate does not match", e.Message, StringComparison.Ordinal));
        AssertNeverShown([.. pinned, .. gone], lines, uri, macaroon, node.InvoiceMacaroonHex);
    }

    [Fact]
    public async Task An_invoice_for_another_payee_is_refused_without_the_macaroon()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        node.SignInvoicesWithAnotherKey();
        var lines = new LogLineCollection();
        using var logs = Recording(lines);
        using var backend = Backend(node, logger: logs.CreateLogger<LndPaymentBackend>());

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None));

        Assert.NotEmpty(lines);
        AssertNeverShown([error], lines, node.AdminMacaroonHex);
    }

    [Fact]
    public void An_lndconnect_uri_pasted_into_Address_is_not_quoted()
    {
        var macaroon = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(96));
        var options = new LndOptions { Address = $"lndconnect://lnd.example.org:10009?macaroon={macaroon}", MacaroonHex = "0201", TlsCertThumbprint = new string('a', 64) };

        var result = new LndOptionsValidator("Payments:Lnd").Validate(Options.DefaultName, options);

        var error = Assert.Single(result.Failures!);
        Assert.StartsWith("Payments:Lnd:Address must be an https URL", error, StringComparison.Ordinal);
        Assert.DoesNotContain(macaroon, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_api_key_and_the_webhook_secret_are_never_quoted()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        const string wrong = "0123456789abcdef0123456789abcdef01234567";
        const string secret = "whsec-7c1f0e2d9b8a";
        var lines = new LogLineCollection();
        await using var bot = await BtcPayTestBot.StartAsync(server, wrong, registerWebhook: true,
            settings: new Dictionary<string, string?> { ["WebhookSecret"] = secret }, logLines: lines);

        var errors = await BtcPayFailuresAsync(bot.Backend);
        var forged = Encoding.UTF8.GetBytes("""{"type":"InvoiceSettled","invoiceId":"x"}""");
        var answer = await BtcPayWebhookTests.PostAsync(bot, forged, BtcPayWebhookTests.Sign(forged, "a guessed secret"));

        Assert.All(errors, e => Assert.Contains("does not accept Payments:BtcPay:ApiKey", e.Message, StringComparison.Ordinal));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, answer);
        Assert.Contains(lines, l => l.Contains("the signature does not match", StringComparison.Ordinal));
        AssertNeverShown(errors, lines, wrong, secret);
    }

    [Fact]
    public async Task An_api_key_without_the_permissions_is_never_quoted()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var apiKey = server.CreateApiKey("btcpay.store.canviewinvoices");
        var lines = new LogLineCollection();
        await using var bot = await BtcPayTestBot.StartAsync(server, apiKey, registerWebhook: true, logLines: lines);

        var errors = await BtcPayFailuresAsync(bot.Backend, lookupFails: false);

        Assert.Contains(errors, e => e.Message.Contains("refused the API key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("lacks btcpay.store.cancreateinvoice", StringComparison.Ordinal));
        AssertNeverShown(errors, lines, apiKey);
    }

    [Theory]
    [InlineData(SandboxBtcPayOutage.ConnectionRefused)]
    [InlineData(SandboxBtcPayOutage.ServiceUnavailable)]
    public async Task An_unreachable_btcpay_is_named_without_the_api_key(SandboxBtcPayOutage outage)
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var apiKey = server.CreateApiKey(BtcPayTestBot.BotPermissions);
        var lines = new LogLineCollection();
        await using var bot = await BtcPayTestBot.StartAsync(server, apiKey, registerWebhook: true, logLines: lines);

        await server.GoDownAsync(outage);
        var errors = await BtcPayFailuresAsync(bot.Backend);

        Assert.All(errors, e => Assert.True(e.IsTransient, e.Message));
        AssertNeverShown(errors, lines, apiKey);
    }

    /// <summary>Every call the bot makes to LND, each expected to fail.</summary>
    private static async Task<List<PaymentBackendException>> LndFailuresAsync(LndPaymentBackend backend) =>
    [
        await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CheckHealthAsync(CancellationToken.None)),
        await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None)),
        await Assert.ThrowsAsync<PaymentBackendException>(() => backend.LookupInvoiceAsync(new string('c', 64), CancellationToken.None)),
        await Assert.ThrowsAsync<PaymentBackendException>(() => backend.OpenSettlementFeedAsync(null, CancellationToken.None)),
    ];

    /// <summary>Every call the bot makes to BTCPay, each expected to fail (a lookup may succeed with a read-only key).</summary>
    private static async Task<List<PaymentBackendException>> BtcPayFailuresAsync(BtcPayPaymentBackend backend, bool lookupFails = true)
    {
        var errors = new List<PaymentBackendException>
        {
            await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CheckHealthAsync(CancellationToken.None)),
            await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(BtcPayTestBot.Request(), CancellationToken.None)),
            await Assert.ThrowsAsync<PaymentBackendException>(() => backend.EnsureWebhookAsync(CancellationToken.None)),
        };
        if (lookupFails)
            errors.Add(await Assert.ThrowsAsync<PaymentBackendException>(() => backend.LookupInvoiceAsync("NoSuchInvoice1", CancellationToken.None)));
        return errors;
    }

    private static ILoggerFactory Recording(LogLineCollection lines) =>
        LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new RecordingLoggerProvider(lines)));

    private static void AssertNeverShown(IReadOnlyCollection<Exception> errors, LogLineCollection lines, params string[] secrets)
    {
        Assert.NotEmpty(errors);
        List<string> logged = [.. lines];
        foreach (var secret in secrets)
        {
            Assert.All(errors, e => Assert.DoesNotContain(secret, e.Message, StringComparison.OrdinalIgnoreCase));
            Assert.All(errors, e => Assert.DoesNotContain(secret, e.ToString(), StringComparison.OrdinalIgnoreCase));
            Assert.All(logged, l => Assert.DoesNotContain(secret, l, StringComparison.OrdinalIgnoreCase));
        }
    }
}
