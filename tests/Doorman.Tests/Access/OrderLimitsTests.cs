using Doorman.Access;

namespace Doorman.Tests.Access;

public sealed class OrderLimitsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Month = TimeSpan.FromDays(30);
    private static readonly Gate Gate = new("!room:hs", "#room:hs", Enabled: true, TimeSpan.Zero, 10_000, Month);

    private static Order Pending(string id, TimeSpan left, string roomId = "!room:hs", long amountMsat = 10_000, TimeSpan? period = null,
        string backend = "lnd", OrderStatus status = OrderStatus.Pending) =>
        new(id, roomId, "@member:hs", Plans.Default, amountMsat, period ?? Month, backend, "ref-" + id, "lnbc-" + id, "hash-" + id, status,
            null, Now - TimeSpan.FromMinutes(1), Now + left, null, null);

    // ---- An open invoice is sent again ----

    [Fact]
    public void An_open_invoice_for_the_room_with_five_minutes_left_is_sent_again()
    {
        var open = Pending("a", TimeSpan.FromMinutes(5));
        Assert.Same(open, OrderLimits.Reusable([open], Gate, "lnd", Now));
    }

    [Fact]
    public void An_invoice_about_to_expire_is_not_sent_again() =>
        Assert.Null(OrderLimits.Reusable([Pending("a", TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1))], Gate, "lnd", Now));

    [Fact]
    public void Of_several_open_invoices_the_one_that_lasts_longest_is_sent_again()
    {
        var later = Pending("b", TimeSpan.FromMinutes(25));
        Assert.Same(later, OrderLimits.Reusable([Pending("a", TimeSpan.FromMinutes(10)), later], Gate, "lnd", Now));
    }

    [Theory]
    [InlineData("another room")]
    [InlineData("another price")]
    [InlineData("another period")]
    [InlineData("another backend")]
    [InlineData("paid")]
    [InlineData("expired")]
    public void Only_an_open_invoice_for_exactly_this_purchase_is_sent_again(string difference)
    {
        var order = difference switch
        {
            "another room" => Pending("a", TimeSpan.FromMinutes(20), roomId: "!other:hs"),
            "another price" => Pending("a", TimeSpan.FromMinutes(20), amountMsat: 5_000),
            "another period" => Pending("a", TimeSpan.FromMinutes(20), period: TimeSpan.FromDays(7)),
            "another backend" => Pending("a", TimeSpan.FromMinutes(20), backend: "btcpay"),
            "paid" => Pending("a", TimeSpan.FromMinutes(20), status: OrderStatus.Applied),
            _ => Pending("a", -TimeSpan.FromMinutes(1)),
        };
        Assert.Null(OrderLimits.Reusable([order], Gate, "lnd", Now));
    }

    // ---- At most three open orders ----

    [Fact]
    public void A_member_may_hold_three_open_orders_and_no_more()
    {
        Assert.True(OrderLimits.MayOpenAnother([Pending("a", Month), Pending("b", Month)], Now));
        Assert.False(OrderLimits.MayOpenAnother([Pending("a", Month), Pending("b", Month), Pending("c", Month)], Now));
    }

    [Fact]
    public void Expired_and_paid_orders_are_not_open() =>
        Assert.True(OrderLimits.MayOpenAnother(
            [Pending("a", TimeSpan.Zero), Pending("b", Month, status: OrderStatus.Applied), Pending("c", Month, status: OrderStatus.Expired), Pending("d", Month)], Now));

    // ---- Paid time reaches at most ten years ahead ----

    private static Subscription Until(DateTimeOffset? expiresAt) => new("!room:hs", "@member:hs", expiresAt, SubscriptionSource.Paid, null);

    [Fact]
    public void One_longest_period_from_now_fits() =>
        Assert.Null(OrderLimits.BeyondReach(null, [], "!room:hs", Quantities.MaxPeriod, Now));

    [Fact]
    public void Renewing_the_longest_period_on_top_of_itself_waits_until_it_has_run_down()
    {
        var reach = OrderLimits.BeyondReach(Until(Now + TimeSpan.FromDays(1)), [], "!room:hs", Quantities.MaxPeriod, Now);

        Assert.NotNull(reach);
        Assert.Equal(Now + TimeSpan.FromDays(1), reach.PaidUntil);
        Assert.Equal(Now + TimeSpan.FromDays(1) + Quantities.MaxPeriod, reach.WouldReach);
        Assert.Equal(Now + Quantities.MaxPeriod, reach.Limit);
        Assert.Equal(Now + TimeSpan.FromDays(1), reach.AskAgainFrom);
    }

    [Fact]
    public void Hundreds_of_renewals_stop_at_ten_years_ahead()
    {
        var paidUntil = Now;
        var renewals = 0;
        while (OrderLimits.BeyondReach(Until(paidUntil), [], "!room:hs", Month, Now) is null)
        {
            paidUntil = AccessRules.Extend(paidUntil, hasSubscription: true, Month, Now)!.Value;
            renewals++;
        }
        Assert.Equal(121, renewals); // 121 × 30 days = 3,630 days; one more would pass 3,653
        Assert.True(paidUntil <= Now + OrderLimits.MaxPaidAhead);
    }

    [Fact]
    public void Invoices_still_open_for_the_room_count_as_paid()
    {
        var subscription = Until(Now + OrderLimits.MaxPaidAhead - TimeSpan.FromDays(45));
        Assert.Null(OrderLimits.BeyondReach(subscription, [], "!room:hs", Month, Now));

        var reach = OrderLimits.BeyondReach(subscription, [Pending("a", TimeSpan.FromMinutes(2)), Pending("b", Month, roomId: "!other:hs")], "!room:hs", Month, Now);

        Assert.NotNull(reach);
        Assert.Equal(subscription.ExpiresAt + Month, reach.PaidUntil);
    }

    [Fact]
    public void Lifetime_access_has_no_reach_to_bound()
    {
        Assert.Null(OrderLimits.BeyondReach(Until(Now + OrderLimits.MaxPaidAhead), [], "!room:hs", period: null, Now));
        Assert.Null(OrderLimits.BeyondReach(Until(Now + OrderLimits.MaxPaidAhead), [Pending("a", Month, period: TimeSpan.Zero) with { Period = null }], "!room:hs", Month, Now));
    }

    [Fact]
    public void An_expiry_at_the_end_of_time_is_refused_not_thrown()
    {
        var reach = OrderLimits.BeyondReach(Until(DateTimeOffset.MaxValue), [], "!room:hs", Month, Now);
        Assert.NotNull(reach);
        Assert.Equal(DateTimeOffset.MaxValue, reach.WouldReach);
    }

    // ---- The room, live ----

    [Fact]
    public void A_room_the_bot_can_invite_into_takes_a_member_who_is_not_banned() =>
        Assert.Null(OrderLimits.RoomRefusal(new RoomFacts(MemberBanned: false, BotCanInvite: true, BotLevel: 50, InviteLevel: 0)));

    [Fact]
    public void A_banned_member_is_refused() =>
        Assert.Equal(OrderRefusal.Banned, OrderLimits.RoomRefusal(new RoomFacts(MemberBanned: true, BotCanInvite: true, BotLevel: 50, InviteLevel: 0)));

    [Fact]
    public void A_bot_without_the_power_to_invite_refuses() =>
        Assert.Equal(OrderRefusal.BotCannotInvite, OrderLimits.RoomRefusal(new RoomFacts(MemberBanned: false, BotCanInvite: false, BotLevel: 0, InviteLevel: 50)));

    [Fact]
    public void A_room_the_bot_cannot_read_is_refused() => Assert.Equal(OrderRefusal.BotNotInRoom, OrderLimits.RoomRefusal(null));
}
