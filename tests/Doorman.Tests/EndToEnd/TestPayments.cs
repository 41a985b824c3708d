using System.Net;
using System.Net.Sockets;
using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Lightning;

namespace Doorman.Tests.EndToEnd;

/// <summary>The payment side of a scenario: a sandbox backend the bot is pointed at, and a payer.</summary>
public interface ITestPayments : IAsyncDisposable
{
    /// <summary>"lnd", "btcpay (webhooks)", "btcpay (polling)": for test output.</summary>
    string Kind { get; }

    /// <summary>Pays the invoice as the member's wallet would (<paramref name="amountMsat"/>: the invoice's by default).</summary>
    Task PayAsync(string bolt11, long? amountMsat = null);

    /// <summary>Points the bot's configuration at this backend; <paramref name="botUrl"/> is the bot's own HTTP listener.</summary>
    void Configure(Dictionary<string, string?> settings, Uri botUrl);
}

public sealed class LndTestPayments(SandboxLightningNode node, string files) : ITestPayments
{
    public string Kind => "lnd";

    public SandboxLightningNode Node => node;

    public static async Task<LndTestPayments> StartAsync(string directory, TimeProvider? time = null)
    {
        var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = time ?? TimeProvider.System });
        return new LndTestPayments(node, node.WriteFiles(directory));
    }

    public Task PayAsync(string bolt11, long? amountMsat = null) => node.PayAsync(bolt11, amountMsat);

    public void Configure(Dictionary<string, string?> settings, Uri botUrl)
    {
        settings["Payments:Backend"] = "Lnd";
        settings["Payments:Lnd:Address"] = node.Address.ToString();
        settings["Payments:Lnd:MacaroonPath"] = Path.Combine(files, "invoice.macaroon"); // the stock, least-privileged macaroon
        settings["Payments:Lnd:TlsCertPath"] = Path.Combine(files, "tls.cert");
    }

    public ValueTask DisposeAsync() => node.DisposeAsync();
}

/// <summary>BTCPay with webhooks to the bot (it registers its own), or with polling only (no inbound HTTP).</summary>
public sealed class BtcPayTestPayments(SandboxBtcPayServer server, string apiKey, bool webhooks) : ITestPayments
{
    public string Kind => webhooks ? "btcpay (webhooks)" : "btcpay (polling)";

    public SandboxBtcPayServer Server => server;

    /// <summary>The Greenfield API key the bot is configured with.</summary>
    public string ApiKey => apiKey;

    public static async Task<BtcPayTestPayments> StartAsync(bool webhooks, TimeProvider? time = null)
    {
        var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions
        {
            TimeProvider = time ?? TimeProvider.System,
            RedeliverySchedule = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)],
        });
        // The minimal permissions the README documents.
        string[] permissions = webhooks
            ? ["btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices", "btcpay.store.webhooks.canmodifywebhooks"]
            : ["btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices"];
        return new BtcPayTestPayments(server, server.CreateApiKey(permissions), webhooks);
    }

    public Task PayAsync(string bolt11, long? amountMsat = null) => server.PayAsync(bolt11, amountMsat);

    public void Configure(Dictionary<string, string?> settings, Uri botUrl)
    {
        settings["Payments:Backend"] = "BtcPay";
        settings["Payments:BtcPay:Url"] = server.Url.ToString();
        settings["Payments:BtcPay:StoreId"] = server.StoreId;
        settings["Payments:BtcPay:ApiKey"] = apiKey;
        if (webhooks)
            settings["Payments:BtcPay:PublicUrl"] = botUrl.ToString();
        else
            settings["Payments:BtcPay:PollInterval"] = "00:00:05";
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

public static class FreePort
{
    /// <summary>A loopback port free right now: the bot's listener must be known before it starts (BTCPay calls it back).</summary>
    public static int Next()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
