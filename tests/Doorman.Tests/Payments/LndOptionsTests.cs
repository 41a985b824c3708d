using System.Buffers.Text;
using Doorman.Access;
using Doorman.Payments;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.Lightning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

public sealed class LndOptionsTests
{
    private const string MacaroonHex = "0201036c6e6402f801030a1022a0d8b6c17bd7e1ad2d4e9a33c9e2bd1201301a160a0761646472657373120472656164120577726974651a";
    private const string Thumbprint = "8f:43:28:8a:d2:72:f7:10:3b:b1:4e:3a:d3:b5:2a:28:0f:4c:83:4a:c2:83:8e:2a:3e:2f:12:21:21:37:aa:1e";

    [Fact]
    public void An_address_and_a_macaroon_are_enough()
    {
        Assert.Empty(Validate(new LndOptions { Address = "https://127.0.0.1:10009", MacaroonHex = MacaroonHex }));
        Assert.Empty(Validate(new LndOptions { Address = "https://lnd.example.org:10009", MacaroonHex = MacaroonHex, TlsCertThumbprint = Thumbprint.ToUpperInvariant() }));
    }

    [Fact]
    public void An_empty_section_names_every_missing_key_at_once()
    {
        var errors = Validate(new LndOptions());

        Assert.Equal(2, errors.Length);
        Assert.StartsWith("Payments:Lnd:Address must be an https URL", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Payments:Lnd:MacaroonPath is required", errors[1], StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadKeys => new()
    {
        { "http address", "Payments:Lnd:Address must be an https URL" },
        { "no scheme", "Payments:Lnd:Address must be an https URL" },
        { "macaroon not hex", "Payments:Lnd:MacaroonHex must be the macaroon's bytes in hex" },
        { "two macaroons", "set only one of Payments:Lnd:MacaroonPath and Payments:Lnd:MacaroonHex" },
        { "macaroon file missing", "Payments:Lnd:MacaroonPath: cannot read '/nonexistent/invoice.macaroon'" },
        { "cert file missing", "Payments:Lnd:TlsCertPath: cannot read '/nonexistent/tls.cert'" },
        { "cert file not a cert", "is not a PEM certificate" },
        { "thumbprint short", "Payments:Lnd:TlsCertThumbprint must be the SHA-256 of the certificate" },
        { "two pins", "set only one of Payments:Lnd:TlsCertPath and Payments:Lnd:TlsCertThumbprint" },
        { "zero timeout", "Payments:Lnd:RequestTimeout must be positive" },
        { "connect uri wrong scheme", "Payments:Lnd:ConnectUri is not a valid lndconnect URI" },
        { "connect uri without macaroon", "it has no macaroon parameter" },
        { "connect uri and macaroon", "Payments:Lnd:ConnectUri carries the macaroon and certificate; remove Payments:Lnd:MacaroonHex" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void Each_bad_key_is_named(string problem, string expected)
    {
        var notACert = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notACert, "not a certificate");
            var options = new LndOptions { Address = "https://127.0.0.1:10009", MacaroonHex = MacaroonHex };
            switch (problem)
            {
                case "http address": options.Address = "http://127.0.0.1:10009"; break;
                case "no scheme": options.Address = "127.0.0.1:10009"; break;
                case "macaroon not hex": options.MacaroonHex = "0201zz"; break;
                case "two macaroons": options.MacaroonPath = "/data/invoice.macaroon"; break;
                case "macaroon file missing": options.MacaroonHex = null; options.MacaroonPath = "/nonexistent/invoice.macaroon"; break;
                case "cert file missing": options.TlsCertPath = "/nonexistent/tls.cert"; break;
                case "cert file not a cert": options.TlsCertPath = notACert; break;
                case "thumbprint short": options.TlsCertThumbprint = "8f:43:28"; break;
                case "two pins": options.TlsCertPath = notACert; options.TlsCertThumbprint = Thumbprint; break;
                case "zero timeout": options.RequestTimeout = TimeSpan.Zero; break;
                case "connect uri wrong scheme": options = new LndOptions { ConnectUri = "https://127.0.0.1:10009?macaroon=AgED" }; break;
                case "connect uri without macaroon": options = new LndOptions { ConnectUri = "lndconnect://127.0.0.1:10009?cert=MIIB" }; break;
                case "connect uri and macaroon": options = new LndOptions { ConnectUri = "lndconnect://127.0.0.1:10009?macaroon=AgED", MacaroonHex = MacaroonHex }; break;
                default: throw new ArgumentOutOfRangeException(nameof(problem));
            }

            var errors = Validate(options);

            Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(notACert);
        }
    }

    [Fact]
    public void Messages_never_quote_a_secret()
    {
        var badHex = MacaroonHex + "zz";
        var uriMacaroon = "AgEDbG5kAvgBAwoQIqDYtsF71-GtLU6aM8nivRIBMBoWCgdhZGRyZXNz";
        var errors = Validate(new LndOptions { Address = "https://127.0.0.1:10009", MacaroonHex = badHex })
            .Concat(Validate(new LndOptions { ConnectUri = $"lndconnect://127.0.0.1:10009?cert=%%%&macaroon={uriMacaroon}" }))
            .ToList();

        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.DoesNotContain(MacaroonHex, e, StringComparison.OrdinalIgnoreCase));
        Assert.All(errors, e => Assert.DoesNotContain(uriMacaroon, e, StringComparison.Ordinal));
    }

    [Fact]
    public void The_section_path_given_is_the_one_named()
    {
        var errors = Validate(new LndOptions { Address = "ftp://x", MacaroonHex = MacaroonHex }, "Lightning:Node");

        Assert.StartsWith("Lightning:Node:Address must be an https URL", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_says_which_secrets_are_set_without_them()
    {
        var text = new LndOptions
        {
            Address = "https://127.0.0.1:10009",
            MacaroonHex = MacaroonHex,
            ConnectUri = "lndconnect://h:1?macaroon=AgEDsecret",
        }.ToString();

        Assert.Contains("https://127.0.0.1:10009", text, StringComparison.Ordinal);
        Assert.Contains("MacaroonHex = (set, hidden)", text, StringComparison.Ordinal);
        Assert.DoesNotContain(MacaroonHex, text, StringComparison.Ordinal);
        Assert.DoesNotContain("AgEDsecret", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_lndconnect_uri_carries_address_certificate_and_macaroon()
    {
        await using var node = await SandboxLightningNode.StartAsync();

        Assert.True(LndConnectUri.TryParse(ConnectUriOf(node), out var parsed, out var problem), problem);

        Assert.Equal(node.Address, parsed!.Address);
        Assert.Equal(node.TlsCertificateDer, parsed.CertificateDer);
        Assert.Equal(Convert.FromHexString(node.InvoiceMacaroonHex), parsed.Macaroon);
    }

    [Theory]
    [InlineData("lndconnect://[::1]:10009?macaroon=AgED", "https://[::1]:10009/")]
    [InlineData("lndconnect://node.example.org?macaroon=AgED", "https://node.example.org:10009/")]
    [InlineData("lndconnect://node.example.org:8080?macaroon=AgED", "https://node.example.org:8080/")]
    public void Lndconnect_hosts_and_ports(string uri, string address)
    {
        Assert.True(LndConnectUri.TryParse(uri, out var parsed, out var problem), problem);

        Assert.Equal(new Uri(address), parsed!.Address);
        Assert.Null(parsed.CertificateDer);
        Assert.Equal([0x02, 0x01, 0x03], parsed.Macaroon);
    }

    [Fact]
    public void Lndconnect_accepts_padded_standard_base64_too()
    {
        var macaroon = new byte[] { 0xfb, 0xff, 0xfe, 0x01 };

        Assert.True(LndConnectUri.TryParse($"lndconnect://h:1?macaroon={Convert.ToBase64String(macaroon)}", out var parsed, out _));

        Assert.Equal(macaroon, parsed!.Macaroon);
    }

    [Theory]
    [InlineData("lndconnect://h:1", "no macaroon")]
    [InlineData("lndconnect://h:1?macaroon=%%%", "not base64url")]
    [InlineData("lndconnect://h:1?macaroon=AgED&cert=AgED", "not a base64url DER certificate")]
    [InlineData("lnd://h:1?macaroon=AgED", "must start with lndconnect://")]
    public void Bad_lndconnect_uris_say_why(string uri, string reason)
    {
        Assert.False(LndConnectUri.TryParse(uri, out _, out var problem));

        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Registration_validates_on_start_and_reports_every_problem()
    {
        using var services = Registered(new()
        {
            ["Payments:Lnd:Address"] = "http://127.0.0.1:10009",
            ["Payments:Lnd:MacaroonHex"] = "nothex",
            ["Payments:Lnd:TlsCertThumbprint"] = "abc",
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(3, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("Payments:Lnd:Address", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Payments:Lnd:MacaroonHex", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Payments:Lnd:TlsCertThumbprint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Registration_with_an_lndconnect_uri_reaches_the_node()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        await using var services = Registered(new() { ["Payments:Lnd:ConnectUri"] = ConnectUriOf(node) });
        services.GetRequiredService<IStartupValidator>().Validate();
        var backend = services.GetRequiredService<IPaymentBackend>();

        await backend.CheckHealthAsync(CancellationToken.None);
        var created = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.Same(services.GetRequiredService<IPaymentBackend>(), backend);
        Assert.Equal(created.PaymentHash, Assert.Single(node.Invoices).PaymentHash);
    }

    [Fact]
    public async Task Registration_with_the_files_lnd_writes_reaches_the_node()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var directory = node.WriteFiles(Path.Combine(Path.GetTempPath(), "doorman-lnd-" + Guid.NewGuid().ToString("N")));
        try
        {
            await using var services = Registered(new()
            {
                ["Payments:Lnd:Address"] = node.Address.ToString(),
                ["Payments:Lnd:MacaroonPath"] = Path.Combine(directory, "invoice.macaroon"),
                ["Payments:Lnd:TlsCertPath"] = Path.Combine(directory, "tls.cert"),
                ["Payments:Lnd:RequestTimeout"] = "00:00:05",
            });
            services.GetRequiredService<IStartupValidator>().Validate();
            var backend = services.GetRequiredService<IPaymentBackend>();

            await backend.CheckHealthAsync(CancellationToken.None);
            var created = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);

            Assert.Equal(InvoiceState.Open, (await backend.LookupInvoiceAsync(created.Reference, CancellationToken.None)).State);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The backend registered as the bot registers it, from these settings.</summary>
    private static ServiceProvider Registered(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddLogging()
            .AddSingleton<IPaymentState>(new MemoryPaymentState())
            .AddLndPaymentBackend(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Payments:Lnd"))
            .BuildServiceProvider();

    private static string ConnectUriOf(SandboxLightningNode node) =>
        $"lndconnect://127.0.0.1:{node.Address.Port}?cert={Base64Url.EncodeToString(node.TlsCertificateDer)}"
        + $"&macaroon={Base64Url.EncodeToString(Convert.FromHexString(node.InvoiceMacaroonHex))}";

    private static string[] Validate(LndOptions options, string sectionPath = "Payments:Lnd")
    {
        var result = new LndOptionsValidator(sectionPath).Validate(Options.DefaultName, options);
        return result.Failed ? [.. result.Failures!] : [];
    }
}
