using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>
/// Time cannot overflow: a payment applied to a subscription already near the last instant a
/// <see cref="DateTimeOffset"/> holds is still applied (the expiry saturates), and the sweep still finds its deadlines.
/// </summary>
public sealed class SettlementLimitsTests : IAsyncLifetime
{
    private const string RoomId = "!room:localhost", UserId = "@member:localhost";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time);
        await Db.WriteAsync(tx => _services.GetRequiredService<GateStore>().SetPriceAsync(
            tx, RoomId, "#room:localhost", 1_000_000, TimeSpan.FromDays(30), "@owner:localhost", _time.GetUtcNow()), default);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    [Fact]
    public async Task A_payment_on_a_subscription_at_the_end_of_time_is_applied_and_saturates()
    {
        var now = _time.GetUtcNow();
        await Db.WriteAsync(tx => _services.GetRequiredService<SubscriptionStore>().SetTermAsync(
            tx, RoomId, UserId, new Term(DateTimeOffset.MaxValue - TimeSpan.FromDays(1), SubscriptionSource.Paid, Plans.Default, TimeSpan.FromDays(30), null), now), default);
        var order = new Order(Ulid.New(now), RoomId, UserId, Plans.Default, 1_000_000, TimeSpan.FromDays(30),
            "lnd", "aa", "lnbcrt1…", "aa", OrderStatus.Pending, null, now, now.AddMinutes(30), null, null);
        await Db.WriteAsync(tx => _services.GetRequiredService<OrderStore>().InsertAsync(tx, order), default);

        var outcome = await _services.GetRequiredService<Settlements>().ApplyAsync("lnd",
            new InvoiceUpdate("aa", InvoiceState.Settled, 1_000_000, 1_000_000, null), default);

        Assert.Equal(SettlementOutcome.Applied, outcome);
        var sub = await Db.ReadAsync(tx => _services.GetRequiredService<SubscriptionStore>().GetAsync(tx, RoomId, UserId), default);
        Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), sub!.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        // With a day of grace (and no reminder), expiry plus grace is past the last instant: reading it back must not throw.
        await Db.WriteAsync(async tx =>
            await tx.ExecuteAsync("UPDATE gates SET grace_seconds = 86400") + await tx.ExecuteAsync("UPDATE subscriptions SET remind_at = NULL"), default);
        var next = await Db.ReadAsync(tx => _services.GetRequiredService<SubscriptionStore>().NextDeadlineAsync(tx), default);
        Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), next!.Value.ToUnixTimeMilliseconds());
    }
}
