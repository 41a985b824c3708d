using Dapper;
using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Lightning;
using Doorman.Storage;
using Doorman.Tests.EndToEnd;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

using Doorman.Tests.Support;

namespace Doorman.Tests.Hosting;

/// <summary>
/// The operators' command line, run in-process against the sandbox homeserver, LND and BTCPay; the configuration
/// reaches it as command-line overrides (<c>--Matrix:UserId=…</c>), as an operator would pass it.
/// </summary>
public sealed class CliTests(ITestOutputHelper testOutput) : SandboxScenarioTests(testOutput)
{
    private readonly ITestOutputHelper output = testOutput;

    private static readonly int MigrationCount = Migrator.Migrations().Count();

    private Task<(int Exit, string[] Lines)> RunAsync(params string[] args) => CliRun.RunAsync(output, args);

    /// <summary>The scenario's settings as <c>--Key=value</c> overrides, after the verb.</summary>
    private static string[] Args(string verb, Dictionary<string, string?> settings) =>
        [verb, .. settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}")];

    /// <summary>The payment settings replaced by a BTCPay store's, with this API key; the caller adds how payments are seen.</summary>
    private static void UseBtcPay(Dictionary<string, string?> settings, SandboxBtcPayServer btcPay, string apiKey)
    {
        foreach (var key in settings.Keys.Where(k => k.StartsWith("Payments:", StringComparison.Ordinal)).ToList())
            settings.Remove(key);
        settings["Payments:Backend"] = "BtcPay";
        settings["Payments:BtcPay:Url"] = btcPay.Url.ToString();
        settings["Payments:BtcPay:StoreId"] = btcPay.StoreId;
        settings["Payments:BtcPay:ApiKey"] = apiKey;
    }

    /// <summary>The bot ran once (migrating its database), the owner made a room where the bot has power 50, and gated it.</summary>
    private async Task<string> GatedRoomAsync()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "21 sats per 30d");
        await S.StopBotAsync();
        return roomId;
    }

    /// <summary>
    /// A database that does not answer at start (PostgreSQL down or restarting: docs/operators.md, "Two instances")
    /// stops the bot with one line and exit code 1, for its supervisor to start it again; never a crash, never the password.
    /// </summary>
    [Theory]
    [InlineData("run")]
    [InlineData("migrate")]
    public async Task A_database_that_does_not_answer_stops_the_start_with_one_clear_line(string verb)
    {
        var settings = S.Settings;
        settings["Storage:Provider"] = "Postgres";
        settings["Storage:ConnectionString"] = $"Host=127.0.0.1;Port={ClosedPort()};Username=doorman;Password=not-to-be-shown;Database=doorman;Timeout=3";
        settings["Matrix:CryptoKey"] = Convert.ToBase64String(new byte[32]);
        var args = Args(verb, settings);
        var (exit, lines) = await RunAsync(verb == "run" ? args[1..] : args);

        Assert.Equal(1, exit);
        Assert.Contains(lines, l => l.Contains("the database did not answer (", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("not-to-be-shown", StringComparison.Ordinal) || l.Contains("   at ", StringComparison.Ordinal));
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Check_passes_every_line_on_a_good_set_up()
    {
        await GatedRoomAsync();
        // Overrides also as two tokens; a Matrix id starting with '@' is a value, not a response file.
        var settings = S.Settings;
        var userId = settings["Matrix:UserId"]!;
        settings.Remove("Matrix:UserId");
        var (exit, lines) = await RunAsync([.. Args("check", settings), "--Matrix:UserId", userId]);

        Assert.Equal(0, exit);
        Assert.All(lines, line => Assert.StartsWith("✓ ", line, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ configuration valid", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ token valid (whoami: " + S.BotUserId, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ payment backend LND reachable", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"✓ migrations current ({MigrationCount} of {MigrationCount}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ HTTP listener address free", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("joined, may invite and kick", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(S.BotToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_names_a_wrong_token_and_the_fix()
    {
        await GatedRoomAsync();
        var settings = S.Settings;
        settings["Matrix:AccessToken"] = "syt_not_the_bots_token";

        var (exit, lines) = await RunAsync(Args("check", settings));

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.StartsWith("✗ token valid (whoami):", StringComparison.Ordinal));
        Assert.Contains("M_UNKNOWN_TOKEN", line, StringComparison.Ordinal);
        Assert.Contains("set Matrix:AccessToken", line, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("syt_not_the_bots_token", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ payment backend LND reachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_names_a_wrong_macaroon_and_the_fix()
    {
        await GatedRoomAsync();
        await using var other = await SandboxLightningNode.StartAsync(new SandboxLightningOptions());
        var files = other.WriteFiles(Path.Combine(S.Dir.Path, "other-lnd"));
        var settings = S.Settings;
        settings["Payments:Lnd:MacaroonPath"] = Path.Combine(files, "invoice.macaroon"); // another node's macaroon

        var (exit, lines) = await RunAsync(Args("check", settings));

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.StartsWith("✗ payment backend lnd:", StringComparison.Ordinal));
        Assert.Contains("Payments:Lnd:MacaroonPath", line, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("✓ token valid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_names_a_missing_BTCPay_permission_and_the_fix()
    {
        await GatedRoomAsync();
        await using var btcPay = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions());
        var settings = S.Settings;
        UseBtcPay(settings, btcPay, btcPay.CreateApiKey("btcpay.store.cancreateinvoice")); // lacks canviewinvoices
        settings["Payments:BtcPay:PollInterval"] = "00:00:30";

        var (exit, lines) = await RunAsync(Args("check", settings));

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.StartsWith("✗ payment backend btcpay:", StringComparison.Ordinal));
        Assert.Contains("btcpay.store.canviewinvoices", line, StringComparison.Ordinal);
        Assert.Contains("API keys", line, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains(settings["Payments:BtcPay:ApiKey"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_passes_BTCPay_with_the_permissions_it_needs()
    {
        await GatedRoomAsync();
        await using var btcPay = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions());
        var settings = S.Settings;
        UseBtcPay(settings, btcPay, btcPay.CreateApiKey("btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices"));
        settings["Payments:BtcPay:PollInterval"] = "00:00:30";

        var (exit, lines) = await RunAsync(Args("check", settings));

        Assert.Equal(0, exit);
        Assert.Contains(lines, l => l.StartsWith("✓ payment backend btcpay reachable", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("✓ BTCPay payments are seen by polling every 00:00:30", StringComparison.Ordinal));
    }

    /// <summary>With <c>PublicUrl</c> the bot registers its own BTCPay webhook at start; check says whether it is there, and registers nothing.</summary>
    [Fact]
    public async Task Check_says_whether_the_bots_BTCPay_webhook_is_registered_and_registers_none_itself()
    {
        await GatedRoomAsync();
        await using var btcPay = await BtcPayTestPayments.StartAsync(webhooks: true);
        void UseBtcPayWebhooks(Dictionary<string, string?> settings)
        {
            UseBtcPay(settings, btcPay.Server, btcPay.ApiKey);
            settings["Payments:BtcPay:PublicUrl"] = settings["Http:Urls"];
        }
        var settings = S.Settings;
        UseBtcPayWebhooks(settings);
        var webhook = settings["Http:Urls"] + "/webhooks/btcpay";

        var (exit, lines) = await RunAsync(Args("check", settings));
        Assert.Equal(0, exit);
        Assert.Contains($"✓ BTCPay payments are seen by webhook for {webhook} not registered yet (the bot registers it at start)", lines);
        Assert.Empty(btcPay.Server.Webhooks);

        await S.StartBotAsync(UseBtcPayWebhooks);
        await Eventually.UntilAsync(() => Task.FromResult(btcPay.Server.Webhooks.Count == 1), "the bot to register its webhook", Scenario.Patience);
        await S.StopBotAsync();

        (exit, lines) = await RunAsync(Args("check", settings));
        Assert.Equal(0, exit);
        Assert.Contains($"✓ BTCPay payments are seen by webhook registered for {webhook}", lines);
        Assert.Single(btcPay.Server.Webhooks);
    }

    [Fact]
    public async Task Check_names_a_gated_room_where_the_bot_lacks_power()
    {
        var roomId = await GatedRoomAsync();
        await S.Owner.SetPowerLevelAsync(roomId, S.BotUserId, 0);

        var (exit, lines) = await RunAsync(Args("check", S.Settings));

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.StartsWith("✗ room ", StringComparison.Ordinal));
        Assert.Contains(roomId, line, StringComparison.Ordinal);
        Assert.Contains("power level 0", line, StringComparison.Ordinal);
        Assert.Contains($"Give {S.BotUserId} power level 50 or more", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_applies_no_migration_to_a_fresh_database()
    {
        var (exit, lines) = await RunAsync(Args("check", S.Settings));

        Assert.Equal(1, exit);
        Assert.Contains(lines, l => l.StartsWith("✗ database writable, migrations current:", StringComparison.Ordinal)
            && l.Contains("doorman migrate", StringComparison.Ordinal));
        Assert.False(File.Exists(S.DatabasePath));
    }

    [Fact]
    public async Task Check_says_which_migration_is_missing_and_leaves_it_missing()
    {
        Assert.Equal(0, (await RunAsync(Args("migrate", S.Settings))).Exit);
        var last = Migrator.Migrations().Last().Version;
        await using (var db = new SqliteConnection($"Data Source={S.DatabasePath};Pooling=False"))
            await db.ExecuteAsync("DELETE FROM schema_migrations WHERE version = @last", new { last });

        var (exit, lines) = await RunAsync(Args("check", S.Settings));

        Assert.Equal(1, exit);
        Assert.Contains($"✗ migrations current: 1 of {MigrationCount} not applied ({last}). Run `doorman migrate` (the bot also applies them at start)", lines);
        await using (var db = new SqliteConnection($"Data Source={S.DatabasePath};Pooling=False"))
            Assert.Equal(MigrationCount - 1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Migrate_applies_the_migrations_once()
    {
        var (exit, lines) = await RunAsync(Args("migrate", S.Settings));
        Assert.Equal(0, exit);
        Assert.Equal(MigrationCount, lines.Count(l => l.StartsWith("applied ", StringComparison.Ordinal)));
        Assert.Contains("applied " + Migrator.Migrations().First().Version, lines);

        (exit, lines) = await RunAsync(Args("migrate", S.Settings));
        Assert.Equal(0, exit);
        Assert.DoesNotContain(lines, l => l.StartsWith("applied ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith($"was already current ({MigrationCount} migrations)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Version_prints_the_version_the_commit_and_the_runtime()
    {
        var (exit, lines) = await RunAsync("version");

        Assert.Equal(0, exit);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("Doorman ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("commit ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("runtime .NET ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_the_old_healthcheck_flag_ask_the_running_bot()
    {
        await S.StartBotAsync();
        var listener = "--Http:Urls=" + S.Settings["Http:Urls"];
        // The bot is healthy once its first sync is done: wait for /healthz to say so before asking the probe.
        using (var http = new HttpClient())
        {
            var healthz = new Uri(S.Settings["Http:Urls"]!.TrimEnd('/') + "/healthz");
            await Eventually.UntilAsync(async () => (await http.GetAsync(healthz)).StatusCode == System.Net.HttpStatusCode.OK,
                "/healthz to answer 200", Scenario.Patience);
        }

        Assert.Equal(0, (await RunAsync("health", listener)).Exit);
        Assert.Equal(0, (await RunAsync("--healthcheck", listener)).Exit);
        await S.StopBotAsync();
        Assert.Equal(1, (await RunAsync("--healthcheck", listener)).Exit);
    }

    [Fact]
    public async Task Run_with_a_bad_configuration_stops_as_before_with_exit_code_2()
    {
        var settings = S.Settings;
        settings["Matrix:UserId"] = "not-a-user-id";

        var (exit, lines) = await RunAsync(Args("run", settings));

        Assert.Equal(2, exit);
        Assert.Equal("Doorman cannot start: the configuration has problems:", lines[0]);
        Assert.Contains(lines, l => l.Contains("Matrix:UserId", StringComparison.Ordinal));
        Assert.Equal(2, (await RunAsync(Args("run", settings)[1..])).Exit); // no verb: the same
    }

    [Fact]
    public async Task Check_names_a_listener_address_in_use()
    {
        await S.StartBotAsync(); // holds Http:Urls

        var (exit, lines) = await RunAsync(Args("check", S.Settings));

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.StartsWith("✗ HTTP listener address free:", StringComparison.Ordinal));
        Assert.Contains("AddressAlreadyInUse", line, StringComparison.Ordinal);
        Assert.Contains("set Http:Urls", line, StringComparison.Ordinal);
    }
}
