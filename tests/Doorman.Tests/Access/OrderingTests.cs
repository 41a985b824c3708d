using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Access;

/// <summary>
/// The order use case on a real SQLite file, with a payment backend that counts its calls and a room whose live
/// state the test sets: every refusal writes nothing and never reaches the backend.
/// </summary>
public sealed class OrderingTests : IAsyncLifetime
{
    private const string UserId = "@member:localhost";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly CountingBackend _backend;
    private readonly SettableRoomFacts _room = new();
    private ServiceProvider _services = null!;

    public OrderingTests() => _backend = new CountingBackend(_time);

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time, _backend,
            services => services.Replace(ServiceDescriptor.Singleton<IRoomFacts>(_room)));
        foreach (var room in new[] { "a", "b", "c", "d" })
            await GateAsync(room, TimeSpan.FromDays(30));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Task<bool> GateAsync(string room, TimeSpan period) => Db.WriteAsync(tx => _services.GetRequiredService<GateStore>().SetPriceAsync(
        tx, $"!{room}:localhost", $"#{room}:localhost", 10_000, period, "@owner:localhost", _time.GetUtcNow()), default);

    private Task<OrderResult> OrderAsync(string room) =>
        _services.GetRequiredService<Ordering>().PlaceAsync(new OrderRequest($"!{room}:localhost", UserId, null), (_, _) => Task.FromResult(true), default);

    private Task<long> OrderRowsAsync() => Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders"), default);

    [Fact]
    public async Task Asking_again_while_the_invoice_is_open_gets_the_same_invoice()
    {
        var first = Assert.IsType<OrderPlaced>(await OrderAsync("a"));
        _time.Advance(TimeSpan.FromMinutes(25)); // 5 minutes left of 30

        var second = Assert.IsType<OrderPlaced>(await OrderAsync("a"));

        Assert.True(second.Resent);
        Assert.False(first.Resent);
        Assert.Equal(first.Order.Bolt11, second.Order.Bolt11);
        Assert.Equal(first.Order.Id, second.Order.Id);
        Assert.Equal(1, _backend.Calls);
        Assert.Equal(1, await OrderRowsAsync());
    }

    [Fact]
    public async Task An_invoice_with_less_than_five_minutes_left_is_replaced()
    {
        var first = Assert.IsType<OrderPlaced>(await OrderAsync("a"));
        _time.Advance(TimeSpan.FromMinutes(25) + TimeSpan.FromSeconds(1));

        var second = Assert.IsType<OrderPlaced>(await OrderAsync("a"));

        Assert.False(second.Resent);
        Assert.NotEqual(first.Order.Bolt11, second.Order.Bolt11);
        Assert.Equal(2, _backend.Calls);
    }

    [Fact]
    public async Task A_fourth_open_order_is_refused_before_the_backend_is_asked()
    {
        foreach (var room in new[] { "a", "b", "c" })
        {
            Assert.IsType<OrderPlaced>(await OrderAsync(room));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var refused = Assert.IsType<TooManyOpenOrders>(await OrderAsync("d"));

        Assert.Equal(["!a:localhost", "!b:localhost", "!c:localhost"], refused.Open.Select(o => o.RoomId));
        Assert.Equal(3, _backend.Calls);
        Assert.Equal(3, await OrderRowsAsync());
        // The open invoices are still sent again, and once one expires there is room for another.
        Assert.True(Assert.IsType<OrderPlaced>(await OrderAsync("a")).Resent);
        _time.Advance(TimeSpan.FromMinutes(31));
        Assert.False(Assert.IsType<OrderPlaced>(await OrderAsync("d")).Resent);
    }

    [Fact]
    public async Task A_renewal_beyond_ten_years_ahead_is_refused_before_the_backend_is_asked()
    {
        await GateAsync("a", Quantities.MaxPeriod);
        Assert.IsType<OrderPlaced>(await OrderAsync("a"));
        _time.Advance(TimeSpan.FromMinutes(26)); // the first invoice is no longer sent again, and is still open

        var refused = Assert.IsType<TooFarAhead>(await OrderAsync("a"));

        // The open invoice counts as paid: ten years from now, and another ten would pass the limit.
        Assert.Equal(_time.GetUtcNow() + Quantities.MaxPeriod, refused.Reach.PaidUntil);
        Assert.Equal(1, _backend.Calls);
        Assert.Equal(1, await OrderRowsAsync());
    }

    [Theory]
    [InlineData(true, true, OrderRefusal.Banned)]
    [InlineData(false, false, OrderRefusal.BotCannotInvite)]
    public async Task A_room_that_would_not_take_the_member_gets_no_invoice(bool banned, bool botCanInvite, OrderRefusal why)
    {
        _room.Facts = new RoomFacts(banned, botCanInvite, BotLevel: botCanInvite ? 50 : 0, InviteLevel: 50);

        var refused = Assert.IsType<OrderRefused>(await OrderAsync("a"));

        Assert.Equal(why, refused.Why);
        Assert.Equal(0, _backend.Calls);
        Assert.Equal(0, await OrderRowsAsync());
    }

    [Fact]
    public async Task An_open_invoice_is_not_sent_again_to_a_member_banned_since()
    {
        Assert.IsType<OrderPlaced>(await OrderAsync("a"));
        _room.Facts = new RoomFacts(MemberBanned: true, BotCanInvite: true, BotLevel: 50, InviteLevel: 0);

        Assert.Equal(OrderRefusal.Banned, Assert.IsType<OrderRefused>(await OrderAsync("a")).Why);
    }
}
