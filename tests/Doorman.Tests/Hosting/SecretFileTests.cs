using System.Security.Cryptography;
using Doorman.Homeserver;
using Doorman.Hosting;
using Doorman.Payments.BtcPay;
using Doorman.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Doorman.Tests.Hosting;

/// <summary>Secrets from files (README "Secrets"): <c>XFile</c> beside every secret <c>X</c>, through the bot's own configuration.</summary>
public sealed class SecretFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static ServiceProvider Bot(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Matrix:UserId", "@doorman:example.org");
        settings.TryAdd("Payments:Backend", "BtcPay");
        settings.TryAdd("Payments:BtcPay:Url", "https://btcpay.example.org");
        settings.TryAdd("Payments:BtcPay:StoreId", "store");
        settings.TryAdd("Payments:BtcPay:PollInterval", "00:01:00");
        var builder = DoormanApp.CreateBuilder([], configuration => configuration.AddInMemoryCollection(settings));
        return builder.Services.BuildServiceProvider();
    }

    private static List<string> Problems(ServiceProvider bot)
    {
        var e = Assert.Throws<OptionsValidationException>(() => DoormanApp.ValidateConfiguration(bot, btcPay: true));
        return [.. e.Failures];
    }

    [Fact]
    public void Each_secret_is_read_from_its_file_without_the_trailing_newline()
    {
        var cryptoKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var bot = Bot(new()
        {
            ["Matrix:AccessTokenFile"] = Write("token", "syt_from_a_file\n"),
            ["Matrix:CryptoKeyFile"] = Write("crypto-key", cryptoKey + "\n"),
            ["Payments:BtcPay:ApiKeyFile"] = Write("api-key", "api-key-from-a-file\r\n"),
            ["Payments:BtcPay:WebhookSecretFile"] = Write("webhook", "webhook secret with spaces "),
        });

        DoormanApp.ValidateConfiguration(bot, btcPay: true);

        var matrix = bot.GetRequiredService<IOptions<MatrixOptions>>().Value;
        var btcPay = bot.GetRequiredService<IOptions<BtcPayOptions>>().Value;
        Assert.Equal("syt_from_a_file", matrix.AccessToken);
        Assert.Equal(cryptoKey, matrix.CryptoKey);
        Assert.Equal("api-key-from-a-file", btcPay.ApiKey);
        Assert.Equal("webhook secret with spaces ", btcPay.WebhookSecret);
    }

    [Fact]
    public void The_password_may_come_from_a_file()
    {
        using var bot = Bot(new() { ["Matrix:PasswordFile"] = Write("password", "correct horse\n"), ["Payments:BtcPay:ApiKey"] = "k" });

        DoormanApp.ValidateConfiguration(bot, btcPay: true);

        Assert.Equal("correct horse", bot.GetRequiredService<IOptions<MatrixOptions>>().Value.Password);
    }

    [Fact]
    public void A_secret_set_both_ways_is_refused_naming_both_keys_and_neither_value()
    {
        using var bot = Bot(new()
        {
            ["Matrix:AccessToken"] = "syt_inline_secret",
            ["Matrix:AccessTokenFile"] = Write("token", "syt_file_secret"),
            ["Payments:BtcPay:ApiKey"] = "inline-api-key",
            ["Payments:BtcPay:ApiKeyFile"] = Write("api-key", "file-api-key"),
        });

        var problems = Problems(bot);

        Assert.Contains("Matrix:AccessToken and Matrix:AccessTokenFile are both set: set only one", problems);
        Assert.Contains("Payments:BtcPay:ApiKey and Payments:BtcPay:ApiKeyFile are both set: set only one", problems);
        var all = string.Join("\n", problems);
        foreach (var secret in new[] { "syt_inline_secret", "syt_file_secret", "inline-api-key", "file-api-key" })
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_or_empty_secret_file_is_refused_naming_key_and_path()
    {
        var missing = Path.Combine(_dir.Path, "no-such-token");
        var empty = Write("empty", "\n");
        using var bot = Bot(new()
        {
            ["Matrix:AccessTokenFile"] = missing,
            ["Matrix:CryptoKeyFile"] = _dir.Path, // a directory, not a file
            ["Payments:BtcPay:ApiKeyFile"] = empty,
        });

        var problems = Problems(bot);

        Assert.Contains($"Matrix:AccessTokenFile: cannot read '{missing}' (no such file)", problems);
        Assert.Contains(problems, p => p.StartsWith($"Matrix:CryptoKeyFile: cannot read '{_dir.Path}'", StringComparison.Ordinal));
        Assert.Contains($"Payments:BtcPay:ApiKeyFile: the file '{empty}' is empty", problems);
    }

    [Fact]
    public void A_wrong_secret_read_from_a_file_is_judged_like_one_set_inline_without_quoting_it()
    {
        using var bot = Bot(new() { ["Matrix:AccessToken"] = "t", ["Matrix:CryptoKeyFile"] = Write("crypto-key", "not-base64-secret\n"), ["Payments:BtcPay:ApiKey"] = "k" });

        var problems = Problems(bot);

        Assert.Contains(problems, p => p.StartsWith("Matrix:CryptoKey must be 32 random bytes", StringComparison.Ordinal));
        Assert.DoesNotContain("not-base64-secret", string.Join("\n", problems), StringComparison.Ordinal);
    }
}
