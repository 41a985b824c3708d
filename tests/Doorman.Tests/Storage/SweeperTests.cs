using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>The deadline sweep on a real SQLite file with a controlled clock: each deadline acted on once, never early.</summary>
public sealed class SweeperTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Start);
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time);
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

    private Task SubscribeAsync(string roomId, string userId, DateTimeOffset expiresAt) =>
        Db.WriteAsync(tx => _services.GetRequiredService<SubscriptionStore>().SetExpiryAsync(tx, roomId, userId, expiresAt, SubscriptionSource.Paid, _time.GetUtcNow()), default);

    private Task<long> KicksAsync(string userId) =>
        Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM membership_actions WHERE action = 'kick' AND user_id = @userId", new { userId }), default);

    private Task<long> RemindersAsync(string userId) =>
        Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outgoing_messages WHERE user_id = @userId AND content LIKE '%To keep it, say%'", new { userId }), default);

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
}
