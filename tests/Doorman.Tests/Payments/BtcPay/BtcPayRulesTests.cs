using System.Net;
using System.Text;
using Doorman.Payments.BtcPay;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>The backend's pure rules: money conversions, permissions, payment method names, error reading and mapping.</summary>
public sealed class BtcPayRulesTests
{
    [Theory]
    [InlineData("0.00021000", 21_000_000)]
    [InlineData("0.00000001", 1_000)]
    [InlineData("0.00000000001", 1)]
    [InlineData("0.000000000019", 1)]
    [InlineData("21000000", 2_100_000_000_000_000_000)]
    [InlineData("0", 0)]
    [InlineData("-0.0001", 0)]
    public void Btc_amounts_become_millisatoshis_exactly_never_rounding_up(string btc, long msat) =>
        Assert.Equal(msat, BtcPayAmounts.BtcToMsat(decimal.Parse(btc, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("21000", "SATS", 21_000_000L)]
    [InlineData("0.5", "sats", 500L)]
    [InlineData("0.001", "BTC", 100_000_000L)]
    [InlineData("10", "USD", null)]
    public void Invoice_amounts_in_sats_or_btc_become_millisatoshis(string amount, string currency, long? msat) =>
        Assert.Equal(msat, BtcPayAmounts.InvoiceAmountToMsat(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency));

    [Fact]
    public void Whole_satoshis_are_written_as_greenfield_decimal_strings()
    {
        Assert.Equal("21000", BtcPayAmounts.MsatToSatsString(21_000_000));
        Assert.Throws<ArgumentException>(() => BtcPayAmounts.MsatToSatsString(21_000_500));
    }

    [Theory]
    [InlineData(false, "btcpay.store.cancreateinvoice btcpay.store.canviewinvoices", "")]
    [InlineData(false, "btcpay.store.canmodifyinvoices", "")]
    [InlineData(false, "btcpay.store.canmodifystoresettings", "")]
    [InlineData(true, "btcpay.store.canmodifystoresettings:S1", "")]
    [InlineData(false, "unrestricted", "")]
    [InlineData(false, "btcpay.store.cancreateinvoice:S1 btcpay.store.canviewstoresettings:S1", "")]
    [InlineData(false, "BTCPAY.STORE.CANMODIFYINVOICES", "")]
    [InlineData(false, "btcpay.store.canviewinvoices", "btcpay.store.cancreateinvoice")]
    [InlineData(false, "btcpay.store.canmodifyinvoices:S2", "btcpay.store.cancreateinvoice btcpay.store.canviewinvoices")]
    [InlineData(false, "btcpay.store.canmodifyinvoices:s1", "btcpay.store.cancreateinvoice btcpay.store.canviewinvoices")]
    [InlineData(true, "btcpay.store.canmodifyinvoices", "btcpay.store.webhooks.canmodifywebhooks")]
    [InlineData(true, "btcpay.store.canviewstoresettings btcpay.store.cancreateinvoice", "btcpay.store.webhooks.canmodifywebhooks")]
    [InlineData(false, "btcpay.server.canmodifyserversettings", "btcpay.store.cancreateinvoice btcpay.store.canviewinvoices")]
    public void Permissions_follow_btcpays_implications_and_store_scopes(bool webhook, string granted, string missing) =>
        Assert.Equal(
            missing.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            BtcPayPermissions.Missing(granted.Split(' '), "S1", BtcPayPermissions.Required(webhook)));

    [Theory]
    [InlineData("BTC-LN", true)]
    [InlineData("BTC-LightningNetwork", true)]
    [InlineData("BTC_LightningLike", true)]
    [InlineData("btc-offchain", true)]
    [InlineData("BTC-CHAIN", false)]
    [InlineData("BTC", false)]
    [InlineData("BTC-LNURL", false)]
    [InlineData("LTC-LN", false)]
    [InlineData(null, false)]
    public void Lightning_is_recognised_by_every_name_btcpay_gave_it(string? id, bool lightning) =>
        Assert.Equal(lightning, BtcPayPaymentBackend.IsLightning(id));

    [Fact]
    public async Task Greenfield_errors_are_read_in_each_shape()
    {
        var validation = await ReadAsync(HttpStatusCode.UnprocessableEntity, """[{"path":"amount","message":"The amount should be 0 or more."},{"path":"checkout.expirationMinutes","message":"too short"}]""");
        var problem = await ReadAsync(HttpStatusCode.Forbidden, """{"code":"missing-permission","message":"Insufficient API Permissions.","missingPermission":"btcpay.store.canviewinvoices"}""");
        var proxy = await ReadAsync(HttpStatusCode.BadGateway, "<html>502 Bad Gateway</html>");

        Assert.Equal((GreenfieldException.ValidationErrorCode, 2), (validation.Code, validation.ValidationErrors.Count));
        Assert.Equal("amount: The amount should be 0 or more.; checkout.expirationMinutes: too short", validation.Message);
        Assert.False(validation.IsTransient);
        Assert.Equal(("missing-permission", "Insufficient API Permissions."), (problem.Code, problem.Message));
        Assert.Equal(("http-502", true), (proxy.Code, proxy.IsTransient));
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, false)]
    [InlineData(HttpStatusCode.Forbidden, false)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.UnprocessableEntity, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    public void Only_server_trouble_is_transient(HttpStatusCode status, bool transient)
    {
        var mapped = BtcPayErrors.Map(new GreenfieldException(status, "code", "message"), "creating an invoice", new Uri("https://btcpay.example.org"));

        Assert.Equal(transient, mapped.IsTransient);
        Assert.Contains("creating an invoice", mapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Network_failures_and_timeouts_are_transient()
    {
        var server = new Uri("https://btcpay.example.org");
        var network = BtcPayErrors.Map(new HttpRequestException("refused", new System.Net.Sockets.SocketException(111)), "x", server);
        var timeout = BtcPayErrors.Map(new Polly.Timeout.TimeoutRejectedException(), "x", server);

        Assert.True(network.IsTransient);
        Assert.True(timeout.IsTransient);
        Assert.Contains("cannot reach BTCPay at https://btcpay.example.org/", network.Message, StringComparison.Ordinal);
        Assert.Contains("did not answer in time", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signatures_are_checked_over_the_exact_bytes()
    {
        var body = Encoding.UTF8.GetBytes("{\n  \"a\": 1\n}");
        var header = BtcPaySignature.Compute(body, "k");

        Assert.Equal(BtcPayWebhookTests.Sign(body, "k"), header);
        Assert.True(BtcPaySignature.Verify(body, header, "k"));
        Assert.True(BtcPaySignature.Verify(body, "SHA256=" + header[7..].ToUpperInvariant(), "k"));
        Assert.False(BtcPaySignature.Verify(body, header, "K"));
        Assert.False(BtcPaySignature.Verify(Encoding.UTF8.GetBytes("{\"a\":1}"), header, "k"));
        Assert.False(BtcPaySignature.Verify(body, header[..^2], "k"));
        Assert.False(BtcPaySignature.Verify(body, header[7..], "k"));
        Assert.False(BtcPaySignature.Verify(body, null, "k"));
    }

    private static async Task<GreenfieldException> ReadAsync(HttpStatusCode status, string body)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        return await GreenfieldClient.ReadErrorAsync(response, CancellationToken.None);
    }
}
