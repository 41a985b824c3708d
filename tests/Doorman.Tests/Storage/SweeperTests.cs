using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>The deadline sweep on a real SQLite file with a controlled clock: each deadline acted on once, never early.</summary>
public sealed class SweeperTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Start);
    private ServiceProvider _services = null!;
    private CountingBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _backend = new CountingBackend(_time);
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time, _backend,
            services => services.Replace(ServiceDescriptor.Singleton<IRoomFacts>(new SettableRoomFacts())));
        await GateAsync("!month:hs", TimeSpan.FromDays(30));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Sweeper Sweeper => _services.GetRequiredService<Sweeper>();

    private Task GateAsync(string roomId, TimeSpan period, int graceSeconds = 0) =>
        Db.WriteAsync(async tx =>
        {
            await _services.GetRequiredService<GateStore>().SetPriceAsync(tx, roomId, "#" + roomId[1..], 1000, period, "@owner:hs", _time.GetUtcNow());
            await tx.ExecuteAsync("UPDATE gates SET grace_seconds = @graceSeconds WHERE room_id = @roomId", new { graceSeconds, roomId });
        }, default);

    /// <summary>A paid subscription on the room's default plan, its reminder where the room's rule puts it.</summary>
    private Task<bool> SubscribeAsync(string roomId, string userId, DateTimeOffset expiresAt) =>
        Db.WriteAsync(async tx =>
        {
            var gate = (await _services.GetRequiredService<GateStore>().GetAsync(tx, roomId))!;
            var term = new Term(expiresAt, SubscriptionSource.Paid, Plans.Default, gate.Period, AccessRules.RemindAt(expiresAt, gate.Period, gate.RemindLead, false));
            await _services.GetRequiredService<SubscriptionStore>().SetTermAsync(tx, roomId, userId, term, _time.GetUtcNow());
            return true;
        }, default);

    private Task<long> KicksAsync(string userId) =>
        Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM membership_actions WHERE action = 'kick' AND user_id = @userId", new { userId }), default);

    private Task<long> RemindersAsync(string userId) =>
        Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outgoing_messages WHERE user_id = @userId AND content LIKE '%To keep it%'", new { userId }), default);

    [Fact]
    public async Task Nobody_is_removed_before_the_deadline_and_everyone_once_after_it()
    {
        await SubscribeAsync("!month:hs", "@a:hs", Start.AddDays(30));
        _time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromMilliseconds(1));
        await Sweeper.SweepAsync(default);
        Assert.Equal(0, await KicksAsync("@a:hs"));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Sweeper.SweepAsync(default);
        await Sweeper.SweepAsync(default);
        Assert.Equal(1, await KicksAsync("@a:hs"));
    }

    [Fact]
    public async Task Grace_moves_the_deadline()
    {
        await GateAsync("!graceful:hs", TimeSpan.FromDays(30), graceSeconds: 86_400);
        await SubscribeAsync("!graceful:hs", "@b:hs", Start.AddDays(30));
        _time.Advance(TimeSpan.FromDays(30.5));
        await Sweeper.SweepAsync(default);
        Assert.Equal(0, await KicksAsync("@b:hs"));
        _time.Advance(TimeSpan.FromDays(0.5));
        await Sweeper.SweepAsync(default);
        Assert.Equal(1, await KicksAsync("@b:hs"));
    }

    [Fact]
    public async Task A_renewal_before_the_sweep_runs_cancels_the_removal()
    {
        await SubscribeAsync("!month:hs", "@c:hs", Start.AddDays(30));
        _time.Advance(TimeSpan.FromDays(31));
        await SubscribeAsync("!month:hs", "@c:hs", _time.GetUtcNow().AddDays(30)); // paid late, just before the sweep
        await Sweeper.SweepAsync(default);
        Assert.Equal(0, await KicksAsync("@c:hs"));
    }

    [Fact]
    public async Task The_next_run_is_at_the_earliest_deadline_reminder_or_removal()
    {
        await SubscribeAsync("!month:hs", "@d:hs", Start.AddDays(30));
        await SubscribeAsync("!month:hs", "@e:hs", Start.AddDays(10));
        // Reminders come 3 days before the end of a 30-day period: @e's, at day 7.
        Assert.Equal(Start.AddDays(7), await Sweeper.SweepAsync(default));
        _time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(Start.AddDays(10), await Sweeper.SweepAsync(default));
        // Once every deadline has passed and been acted on, nothing is left to schedule.
        _time.Advance(TimeSpan.FromDays(365));
        Assert.Null(await Sweeper.SweepAsync(default));
    }

    [Fact]
    public async Task A_reminder_is_sent_once_per_expiry_and_again_after_a_renewal()
    {
        await SubscribeAsync("!month:hs", "@f:hs", Start.AddDays(30));
        _time.Advance(TimeSpan.FromDays(26));
        await Sweeper.SweepAsync(default);
        Assert.Equal(0, await RemindersAsync("@f:hs"));
        _time.Advance(TimeSpan.FromDays(1));
        await Sweeper.SweepAsync(default);
        await Sweeper.SweepAsync(default);
        Assert.Equal(1, await RemindersAsync("@f:hs"));

        await SubscribeAsync("!month:hs", "@f:hs", Start.AddDays(60)); // renewed
        _time.Advance(TimeSpan.FromDays(30));
        await Sweeper.SweepAsync(default);
        Assert.Equal(2, await RemindersAsync("@f:hs"));
        Assert.Equal(0, await KicksAsync("@f:hs"));
    }

    [Fact]
    public async Task Short_periods_get_no_reminder()
    {
        await GateAsync("!short:hs", TimeSpan.FromMinutes(30));
        await SubscribeAsync("!short:hs", "@g:hs", Start.AddMinutes(30));
        _time.Advance(TimeSpan.FromMinutes(29));
        await Sweeper.SweepAsync(default);
        Assert.Equal(0, await RemindersAsync("@g:hs"));
    }

    private Task<IReadOnlyList<string>> DmsAsync(string userId) =>
        Db.ReadAsync(tx => tx.QueryAsync<string>("SELECT content FROM outgoing_messages WHERE user_id = @userId AND kind = 'message' ORDER BY id", new { userId }), default);

    [Fact]
    public async Task A_reminder_carries_a_renewal_invoice_valid_until_the_time_ends()
    {
        await SubscribeAsync("!month:hs", "@r:hs", Start.AddDays(30));
        _time.Advance(TimeSpan.FromDays(27));
        await Sweeper.SweepAsync(default);

        Assert.Equal(1, _backend.Calls);
        Assert.Equal(TimeSpan.FromDays(3), _backend.Last!.Expiry);
        Assert.Equal(1000, _backend.Last.AmountMsat);
        var origin = await Db.ReadAsync(tx => tx.ExecuteScalarAsync<string>("SELECT origin FROM orders WHERE user_id = '@r:hs'"), default);
        Assert.Equal("reminder", origin);
        var reminder = Assert.Single(await DmsAsync("@r:hs"));
        Assert.Contains("lnbcrt1", reminder, StringComparison.Ordinal);
        Assert.Contains("reminders off", reminder, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exempt_members_and_members_who_said_reminders_off_get_no_reminder()
    {
        await SubscribeAsync("!month:hs", "@x:hs", Start.AddDays(30));
        await SubscribeAsync("!month:hs", "@o:hs", Start.AddDays(30));
        await SubscribeAsync("!month:hs", "@c:hs", Start.AddDays(30)); // the control: reminded
        await Db.WriteAsync(async tx =>
        {
            await _services.GetRequiredService<ExemptionStore>().AddAsync(tx, "!month:hs", "@x:hs", "@owner:hs", _time.GetUtcNow());
            return await _services.GetRequiredService<SubscriptionStore>().SetRemindersAsync(tx, "!month:hs", "@o:hs", off: true, null, _time.GetUtcNow());
        }, default);
        _time.Advance(TimeSpan.FromDays(28));
        await Sweeper.SweepAsync(default);

        Assert.Equal(1, await RemindersAsync("@c:hs"));
        Assert.Equal(0, await RemindersAsync("@x:hs"));
        Assert.Equal(0, await RemindersAsync("@o:hs"));
        Assert.Equal(1, _backend.Calls);
    }

    [Fact]
    public async Task With_grace_the_member_is_told_their_time_ended_with_an_invoice_and_removed_after_the_grace()
    {
        await GateAsync("!grace:hs", TimeSpan.FromDays(30), graceSeconds: 2 * 86400);
        await SubscribeAsync("!grace:hs", "@g:hs", Start.AddDays(30));
        await Db.WriteAsync(tx => tx.ExecuteAsync("UPDATE subscriptions SET remind_at = NULL WHERE user_id = '@g:hs'"), default);
        _time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(Start.AddDays(32), await Sweeper.SweepAsync(default));

        var ended = Assert.Single(await DmsAsync("@g:hs"));
        Assert.Contains("has ended", ended, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromDays(2), _backend.Last!.Expiry);
        Assert.Equal(0, await KicksAsync("@g:hs"));

        _time.Advance(TimeSpan.FromDays(2));
        await Sweeper.SweepAsync(default);
        Assert.Equal(1, await KicksAsync("@g:hs"));
        Assert.Single(await DmsAsync("@g:hs"));
    }
}
