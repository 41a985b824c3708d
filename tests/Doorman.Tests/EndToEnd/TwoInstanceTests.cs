using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Doorman.Homeserver;
using Doorman.Hosting;
using Doorman.Sandbox;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// Two instances on one PostgreSQL database (Hosting/Leadership.cs): one active, one standby; the standby takes over
/// when the active one goes, and the one that lost the lead writes nothing more. The sandbox homeserver and LND.
/// </summary>
public sealed class TwoInstanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private SandboxTestHomeserver _hs = null!;
    private Scenario? _scenario;

    private Scenario S => _scenario!;
    private TestPostgres? _postgres;
    private EmbeddedBot? _standby;

    private readonly LogLineCollection _standbyLog = new();

    public async Task InitializeAsync()
    {
        if (TestPostgres.Server is null)
            return;
        _postgres = await TestPostgres.CreateAsync();
        _hs = await SandboxTestHomeserver.StartAsync();
        await StartScenarioAsync();
    }

    private async Task StartScenarioAsync(Func<string, Task<ITestPayments>>? payments = null)
    {
        if (_scenario is not null)
        {
            // Another scenario's accounts: a fresh homeserver.
            await _scenario.DisposeAsync();
            await _hs.DisposeAsync();
            _hs = await SandboxTestHomeserver.StartAsync();
        }
        _scenario = await Scenario.StartAsync(_hs, output, payments);
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        S.Configure = settings =>
        {
            settings["Storage:Provider"] = "Postgres";
            settings["Storage:ConnectionString"] = _postgres!.ConnectionString;
            settings["Matrix:CryptoKey"] = key;
        };
    }

    public async Task DisposeAsync()
    {
        if (_postgres is null)
            return;
        if (_standby is not null)
            await _standby.DisposeAsync();
        await S.DisposeAsync();
        await _hs.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    /// <summary>A second instance: the scenario's settings, on its own HTTP port unless <paramref name="onScenarioUrl"/>.</summary>
    private Task<EmbeddedBot> StartSecondAsync(bool onScenarioUrl = false)
    {
        var settings = S.Settings;
        S.Configure!(settings);
        if (!onScenarioUrl)
            settings["Http:Urls"] = AnyPort;
        return EmbeddedBot.StartAsync(settings, logging => logging.AddProvider(new XunitLoggerProvider(output))
            .AddProvider(new RecordingLoggerProvider(_standbyLog)).SetMinimumLevel(LogLevel.Information)
            .AddFilter("System.Net.Http", LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning).AddFilter("Quartz", LogLevel.Warning));
    }

    private const string AnyPort = "http://127.0.0.1:0";

    private static InstanceRole RoleOf(EmbeddedBot bot) => bot.Services.GetRequiredService<IInstanceRole>().Role;

    private static async Task<(int Status, JsonElement Body)> HealthAsync(EmbeddedBot bot)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(bot.HttpUrl, "/healthz"));
        return ((int)response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>
    /// The member sees the invite once its request was answered; the bot marks the action done just after, so the
    /// tests wait for no invite to be pending before they count.
    /// </summary>
    private Task InvitesSettledAsync() => Eventually.UntilAsync(
        async () => await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'pending'")) == 0,
        "no invite is pending", Scenario.Patience);

    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => Database.Postgres(_postgres!.ConnectionString).ReadAsync(query, default);

    [PostgresFact]
    public async Task The_standby_answers_as_standby_and_takes_over_when_the_active_instance_loses_its_lock()
    {
        await S.StartBotAsync();
        var active = S.Bot!;
        _standby = await StartSecondAsync();
        Assert.Equal(InstanceRole.Active, RoleOf(active));
        Assert.Equal(InstanceRole.Standby, RoleOf(_standby));
        var (status, body) = await HealthAsync(_standby);
        Assert.Equal(200, status);
        Assert.Equal("standby", body.GetProperty("status").GetString());
        Assert.Equal("standby", body.GetProperty("role").GetString());
        // The standby leaves the device's keys to the active instance (Homeserver/CryptoStart.cs): it has not loaded them.
        Assert.True(active.Services.GetRequiredService<BotCrypto>().IsOn);
        Assert.False(_standby.Services.GetRequiredService<BotCrypto>().IsOn);

        // Served by the active instance.
        var (roomId, alias, dm, _) = await Scenarios.GatePayInviteAsync(S, "10 sats per 30d");

        // The active instance's lock session ends (as when its machine or network is gone and the server ends the
        // idle session): it must stop writing, and the standby take over.
        var lockPid = await QueryAsync(tx => tx.ExecuteScalarAsync<int>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'doorman-leader' AND datname = current_database() "
            + "AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1)"));
        var lost = Stopwatch.StartNew();
        await QueryAsync(tx => tx.ExecuteScalarAsync<bool>("SELECT pg_terminate_backend(@lockPid)", new { lockPid }));

        await Eventually.UntilAsync(() => Task.FromResult(RoleOf(_standby) == InstanceRole.Active), "the standby takes over", Scenario.Patience);
        S.Log($"the standby took over {lost.Elapsed.TotalMilliseconds:F0} ms after the active instance's lock session ended");
        Assert.Equal(InstanceRole.Lost, RoleOf(active));
        await Assert.ThrowsAsync<LeadershipLostException>(() => active.Services.GetRequiredService<Database>().WriteAsync(_ => Task.CompletedTask, default));
        (status, body) = await HealthAsync(_standby);
        Assert.Equal("active", body.GetProperty("role").GetString());
        Assert.True(_standby.Services.GetRequiredService<BotCrypto>().IsOn); // loaded as it took over, as the last active one left them

        // The new active instance serves a second purchase by the same member (a renewal), in the same DM.
        var mark = S.Member.Mark;
        await S.Member.SayAsync(dm, "join " + alias);
        var reply = await S.Member.WaitForMessageAsync(dm, b => Player.FindInvoice(b) is not null, Scenario.Patience, after: mark);
        await S.Payments.PayAsync(Player.FindInvoice(Player.BodyOf(reply))!);
        await Eventually.UntilAsync(async () => await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM orders WHERE status = 'applied'")) == 2, "the renewal is applied by the new active instance", Scenario.Patience);

        await InvitesSettledAsync();
        // Nothing doubled: one invite per payment (the member had not joined yet, so the renewal invites again), each
        // done; two payments, each applied once, 60 days in all.
        Assert.Equal(["done|order:", "done|order:"], await QueryAsync(async tx => (await tx.QueryAsync<string>(
            "SELECT status || '|' || substr(cause, 1, 6) FROM membership_actions WHERE action = 'invite' AND user_id = @user ORDER BY id",
            new { user = S.Member.UserId })).ToList()));
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) - COUNT(DISTINCT cause) FROM membership_actions")));
        var expires = await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT expires_at FROM subscriptions WHERE room_id = @roomId", new { roomId }));
        var firstApplied = await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT MIN(applied_at) FROM orders"));
        Assert.Equal(firstApplied + 2 * 30L * 24 * 3600 * 1000, expires);
    }

    [PostgresFact]
    public async Task A_btcpay_webhook_delivered_to_the_standby_is_applied_once_and_the_active_instance_invites()
    {
        await StartScenarioAsync(_ => BtcPayTestPayments.StartAsync(webhooks: true).ContinueWith(t => (ITestPayments)t.Result, TaskScheduler.Default));
        // BTCPay posts to the bot's public URL; here the standby listens there and the active instance elsewhere.
        await S.StartBotAsync(settings => settings["Http:Urls"] = AnyPort);
        _standby = await StartSecondAsync(onScenarioUrl: true);
        Assert.Equal(InstanceRole.Standby, RoleOf(_standby));

        var (roomId, _, _, settleToInvite) = await Scenarios.GatePayInviteAsync(S, "10 sats per 30d");
        S.Log($"invited {settleToInvite.TotalMilliseconds:F0} ms after paying; the webhook went to the standby");

        Assert.Contains(_standbyLog, line => line.Contains("applied by this standby instance: Applied", StringComparison.Ordinal));
        Assert.Equal(1, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders WHERE status = 'applied' AND room_id = @roomId", new { roomId })));
        await InvitesSettledAsync();
        Assert.Equal(["done"], await QueryAsync(async tx => (await tx.QueryAsync<string>(
            "SELECT status FROM membership_actions WHERE action = 'invite' AND room_id = @roomId", new { roomId })).ToList()));
    }

    [PostgresFact]
    public async Task One_instance_on_postgres_serves_a_purchase()
    {
        await S.StartBotAsync();
        await Scenarios.GatePayInviteAsync(S, "10 sats per 30d");
    }

    [PostgresFact]
    public async Task A_stopped_active_instance_hands_over_at_once()
    {
        await S.StartBotAsync();
        _standby = await StartSecondAsync();
        Assert.Equal(InstanceRole.Standby, RoleOf(_standby));

        var stopped = Stopwatch.StartNew();
        await S.StopBotAsync(); // SIGTERM: the parts stop, then the lock is released
        await Eventually.UntilAsync(() => Task.FromResult(RoleOf(_standby) == InstanceRole.Active), "the standby takes over", Scenario.Patience);
        S.Log($"the standby took over {stopped.Elapsed.TotalMilliseconds:F0} ms after the active instance began to stop");

        // And serves: a member pays and is invited.
        var (_, _, _, settleToInvite) = await Scenarios.GatePayInviteAsync(S, "10 sats per 30d");
        S.Log($"invited {settleToInvite.TotalMilliseconds:F0} ms after paying, by the instance that took over");
    }
}
