using Doorman.Access;
using Doorman.Payments;
using Doorman.Payments.BtcPay;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Doorman.Tests.Payments.BtcPay;

public sealed class BtcPayOptionsTests
{
    private const string ApiKey = "4f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4";
    private const string WebhookSecret = "wh-secret-9f8e7d6c";

    private static BtcPayOptions Valid() => new()
    {
        Url = "https://btcpay.example.org",
        StoreId = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776",
        ApiKey = ApiKey,
        PublicUrl = "https://doorman.example.org",
    };

    [Fact]
    public void A_url_store_key_and_one_way_to_hear_about_payments_are_enough()
    {
        Assert.Empty(Validate(Valid()));
        Assert.Empty(Validate(Valid().With(o => { o.PublicUrl = null; o.WebhookSecret = WebhookSecret; })));
        Assert.Empty(Validate(Valid().With(o => { o.PublicUrl = null; o.PollInterval = TimeSpan.FromMinutes(1); })));
    }

    [Fact]
    public void An_empty_section_names_every_missing_key_at_once()
    {
        var errors = Validate(new BtcPayOptions());

        Assert.Equal(4, errors.Length);
        Assert.StartsWith("Payments:BtcPay:Url must be BTCPay Server's http(s) URL", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Payments:BtcPay:StoreId is required", errors[1], StringComparison.Ordinal);
        Assert.StartsWith("Payments:BtcPay:ApiKey is required", errors[2], StringComparison.Ordinal);
        Assert.Contains("set Payments:BtcPay:PublicUrl", errors[3], StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadKeys => new()
    {
        { "ftp url", "Payments:BtcPay:Url must be BTCPay Server's http(s) URL" },
        { "relative url", "Payments:BtcPay:Url must be BTCPay Server's http(s) URL" },
        { "store with slash", "Payments:BtcPay:StoreId is not a store id" },
        { "key with space", "Payments:BtcPay:ApiKey contains whitespace" },
        { "empty secret", "Payments:BtcPay:WebhookSecret is empty" },
        { "bad public url", "Payments:BtcPay:PublicUrl must be the bot's http(s) URL" },
        { "poll too often", "Payments:BtcPay:PollInterval must be at least 00:00:05" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void Each_bad_key_is_named(string problem, string expected)
    {
        var options = Valid();
        switch (problem)
        {
            case "ftp url": options.Url = "ftp://btcpay.example.org"; break;
            case "relative url": options.Url = "btcpay.example.org"; break;
            case "store with slash": options.StoreId = "abc/def"; break;
            case "key with space": options.ApiKey = "abc def"; break;
            case "empty secret": options.WebhookSecret = " "; break;
            case "bad public url": options.PublicUrl = "doorman.example.org/hooks"; break;
            case "poll too often": options.PollInterval = TimeSpan.FromSeconds(1); break;
            default: throw new ArgumentOutOfRangeException(nameof(problem));
        }

        Assert.Contains(Validate(options), e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://btcpay.example.com")]
    [InlineData("http://btcpay.example.com:23000/")]
    [InlineData("HTTP://10.0.0.5")]
    [InlineData("http://localhost.example.com")]
    public void Plain_http_to_another_host_is_refused_because_the_api_key_would_be_readable(string url)
    {
        var error = Assert.Single(Validate(Valid().With(o => o.Url = url)));

        Assert.StartsWith("Payments:BtcPay:Url must use https", error, StringComparison.Ordinal);
        Assert.Contains($"use https://{new Uri(url).Host} ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://btcpay.example.com")]
    [InlineData("https://10.0.0.5:23001/")]
    [InlineData("http://127.0.0.1:23000")]
    [InlineData("http://127.8.9.10")]
    [InlineData("http://localhost")]
    [InlineData("http://LocalHost:8080/")]
    [InlineData("http://[::1]:23000")]
    public void Https_or_plain_http_to_this_machine_is_accepted(string url) =>
        Assert.Empty(Validate(Valid().With(o => o.Url = url)));

    [Fact]
    public void Messages_and_ToString_never_quote_a_secret()
    {
        var bad = Valid().With(o =>
        {
            o.Url = $"https://user:{ApiKey}@btcpay.example.org";
            o.ApiKey = ApiKey + " x";
            o.WebhookSecret = WebhookSecret;
            o.PollInterval = TimeSpan.FromSeconds(1);
        });
        var errors = Validate(bad);
        var text = Valid().With(o => o.WebhookSecret = WebhookSecret).ToString();

        Assert.Equal(3, errors.Length);
        Assert.All(errors, e => Assert.DoesNotContain(ApiKey, e, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain(WebhookSecret, e, StringComparison.Ordinal));
        Assert.Contains("ApiKey = (set, hidden)", text, StringComparison.Ordinal);
        Assert.Contains("WebhookSecret = (set, hidden)", text, StringComparison.Ordinal);
        Assert.Contains("https://btcpay.example.org", text, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(WebhookSecret, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Registration_binds_the_operators_key_names_and_validates_on_start()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Payments:BtcPay:Url"] = "http://127.0.0.1:23000",
                ["Payments:BtcPay:StoreId"] = "store",
                ["Payments:BtcPay:ApiKey"] = ApiKey,
                ["Payments:BtcPay:WebhookSecret"] = WebhookSecret,
                ["Payments:BtcPay:PublicUrl"] = "https://doorman.example.org",
                ["Payments:BtcPay:PollInterval"] = "00:02:00",
            })
            .Build();
        using var services = new ServiceCollection().AddLogging()
            .AddSingleton<IPaymentState>(new MemoryState())
            .AddBtcPayPaymentBackend(configuration.GetSection("Payments:BtcPay"))
            .BuildServiceProvider();

        services.GetRequiredService<IStartupValidator>().Validate();
        var options = services.GetRequiredService<IOptions<BtcPayOptions>>().Value;
        var backend = services.GetRequiredService<IPaymentBackend>();

        Assert.Equal(("http://127.0.0.1:23000", "store", ApiKey, WebhookSecret, "https://doorman.example.org", TimeSpan.FromMinutes(2)),
            (options.Url, options.StoreId, options.ApiKey, options.WebhookSecret, options.PublicUrl, options.PollInterval));
        Assert.Same(services.GetRequiredService<BtcPayPaymentBackend>(), backend);
        Assert.Equal("btcpay", backend.Name);
        Assert.Equal(TimeSpan.FromMinutes(2), backend.PollInterval);
    }

    [Fact]
    public void Registration_reports_every_problem_with_the_section_path()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Shop:Btc:Url"] = "nope" })
            .Build();
        using var services = new ServiceCollection().AddLogging()
            .AddBtcPayPaymentBackend(configuration.GetSection("Shop:Btc"))
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(4, error.Failures.Count());
        Assert.All(error.Failures, f => Assert.Contains("Shop:Btc:", f, StringComparison.Ordinal));
    }

    private static string[] Validate(BtcPayOptions options)
    {
        var result = new BtcPayOptionsValidator("Payments:BtcPay").Validate(Options.DefaultName, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    private sealed class MemoryState : IPaymentState
    {
        private readonly Dictionary<string, string?> values = [];

        public Task<string?> GetAsync(string key, CancellationToken cancellationToken) => Task.FromResult(values.GetValueOrDefault(key));

        public Task SetAsync(string key, string? value, CancellationToken cancellationToken)
        {
            values[key] = value;
            return Task.CompletedTask;
        }
    }
}

internal static class BtcPayOptionsExtensions
{
    public static BtcPayOptions With(this BtcPayOptions options, Action<BtcPayOptions> change)
    {
        change(options);
        return options;
    }
}
