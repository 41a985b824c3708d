using System.Text.Json;
using Doorman.Access;
using Doorman.Matrix.Rooms;

namespace Doorman.Tests.Access;

public sealed class AccessRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Month = TimeSpan.FromDays(30);

    [Fact]
    public void A_first_payment_runs_from_now() =>
        Assert.Equal(Now + Month, AccessRules.Extend(null, hasSubscription: false, Month, Now));

    [Fact]
    public void Paying_early_extends_from_the_current_expiry_so_no_day_is_lost() =>
        Assert.Equal(Now + TimeSpan.FromDays(10) + Month, AccessRules.Extend(Now + TimeSpan.FromDays(10), hasSubscription: true, Month, Now));

    [Fact]
    public void Paying_after_expiry_runs_from_now() =>
        Assert.Equal(Now + Month, AccessRules.Extend(Now - TimeSpan.FromDays(3), hasSubscription: true, Month, Now));

    [Fact]
    public void A_lifetime_plan_never_expires() => Assert.Null(AccessRules.Extend(Now + Month, hasSubscription: true, null, Now));

    [Fact]
    public void A_lifetime_subscription_stays_lifetime() => Assert.Null(AccessRules.Extend(null, hasSubscription: true, Month, Now));

    // Extend is total: whatever is stored or paid, applying a payment never throws (it saturates at the last instant).

    [Fact]
    public void A_renewal_past_the_last_instant_saturates_instead_of_throwing()
    {
        var last = DateTimeOffset.MaxValue;
        Assert.Equal(last, AccessRules.Extend(last - TimeSpan.FromDays(1), hasSubscription: true, Month, Now));
        Assert.Equal(last, AccessRules.Extend(last, hasSubscription: true, TimeSpan.FromTicks(1), Now));
        Assert.Equal(last, AccessRules.Extend(null, hasSubscription: false, TimeSpan.MaxValue, Now));
        Assert.Equal(last, AccessRules.Extend(null, hasSubscription: false, Month, last));
    }

    [Fact]
    public void A_renewal_that_just_fits_is_exact()
    {
        var last = DateTimeOffset.MaxValue;
        Assert.Equal(last, AccessRules.Extend(last - Month, hasSubscription: true, Month, Now));
        Assert.Equal(last - TimeSpan.FromTicks(1), AccessRules.Extend(last - Month - TimeSpan.FromTicks(1), hasSubscription: true, Month, Now));
    }

    [Fact]
    public void A_negative_period_saturates_at_the_first_instant_instead_of_throwing() =>
        Assert.Equal(DateTimeOffset.MinValue, AccessRules.Extend(null, hasSubscription: false, TimeSpan.MinValue, Now));

    [Fact]
    public void Times_in_other_offsets_extend_by_the_same_instant()
    {
        var inTokyo = Now.ToOffset(TimeSpan.FromHours(9));
        Assert.Equal(Now + Month, AccessRules.Extend(inTokyo, hasSubscription: true, Month, Now - TimeSpan.FromDays(1)));
    }

    // ---- Owners ----

    private static RoomPower V11(string creator, string powerLevels) =>
        new(new RoomCreation(creator, new CreateContent { RoomVersion = "11" }), RoomPower.ParsePowerLevels(Json(powerLevels)));

    private static RoomPower V12(string creator, string powerLevels, params string[] additionalCreators) =>
        new(new RoomCreation(creator, new CreateContent { RoomVersion = "12", AdditionalCreators = [.. additionalCreators] }),
            RoomPower.ParsePowerLevels(Json(powerLevels)));

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void In_v11_an_owner_is_whoever_may_change_power_levels()
    {
        var power = V11("@alice:hs", """{"users":{"@alice:hs":100,"@mod:hs":50,"@admin:hs":100},"events":{"m.room.power_levels":100}}""");
        Assert.True(AccessRules.IsOwner("@alice:hs", power, []));
        Assert.True(AccessRules.IsOwner("@admin:hs", power, []));
        Assert.False(AccessRules.IsOwner("@mod:hs", power, []));
        Assert.False(AccessRules.IsOwner("@nobody:hs", power, []));
    }

    [Fact]
    public void In_v11_a_creator_who_lowered_themselves_is_not_an_owner()
    {
        var power = V11("@alice:hs", """{"users":{"@alice:hs":0,"@bob:hs":100}}""");
        Assert.False(AccessRules.IsOwner("@alice:hs", power, []));
        Assert.True(AccessRules.IsOwner("@bob:hs", power, []));
    }

    [Fact]
    public void The_required_level_comes_from_state_default_when_power_levels_has_no_own_entry()
    {
        var power = V11("@alice:hs", """{"users":{"@mod:hs":60},"state_default":60}""");
        Assert.True(AccessRules.IsOwner("@mod:hs", power, []));
    }

    [Fact]
    public void In_v12_creators_are_owners_though_absent_from_users()
    {
        var power = V12("@alice:hs", """{"users":{"@admin:hs":100}}""", "@carol:hs");
        Assert.True(AccessRules.IsOwner("@alice:hs", power, []));
        Assert.True(AccessRules.IsOwner("@carol:hs", power, []));
        Assert.True(AccessRules.IsOwner("@admin:hs", power, []));
        Assert.False(AccessRules.IsOwner("@eve:hs", power, []));
        Assert.Equal(RoomPower.Infinite, power.LevelOf("@alice:hs"));
    }

    [Fact]
    public void Additional_creators_have_no_power_before_v12()
    {
        var power = new RoomPower(new RoomCreation("@alice:hs", new CreateContent { RoomVersion = "11", AdditionalCreators = ["@carol:hs"] }),
            RoomPower.ParsePowerLevels(Json("""{"users":{"@alice:hs":100}}""")));
        Assert.False(AccessRules.IsOwner("@carol:hs", power, []));
    }

    [Fact]
    public void Operators_own_every_room() =>
        Assert.True(AccessRules.IsOwner("@op:hs", V11("@alice:hs", """{"users":{"@alice:hs":100}}"""), ["@op:hs"]));

    [Fact]
    public void Without_a_power_levels_event_the_creator_has_100_and_others_0()
    {
        var power = new RoomPower(new RoomCreation("@alice:hs", new CreateContent { RoomVersion = "10", Creator = "@alice:hs" }), null);
        Assert.Equal(100, power.LevelOf("@alice:hs"));
        Assert.Equal(0, power.LevelOf("@bob:hs"));
    }

    [Fact]
    public void Levels_written_as_strings_in_old_rooms_are_read()
    {
        var power = V11("@alice:hs", """{"users":{"@bob:hs":"75"},"kick":"60"}""");
        Assert.Equal(75, power.LevelOf("@bob:hs"));
        Assert.Equal(60, power.KickLevel);
    }

    // ---- Removal ----

    private static RemovalDecision Remove(string user, RoomPower power, bool exempt = false, DateTimeOffset? expiresAt = null,
        TimeSpan? grace = null) =>
        AccessRules.MayRemove(user, "@bot:hs", power, exempt, expiresAt ?? Now - TimeSpan.FromSeconds(1), hasSubscription: true,
            grace ?? TimeSpan.Zero, Now);

    private static readonly RoomPower Room = V11("@alice:hs", """{"users":{"@alice:hs":100,"@bot:hs":50,"@mod:hs":50,"@vip:hs":1}}""");

    [Fact]
    public void A_member_whose_time_is_up_may_be_removed() => Assert.True(Remove("@member:hs", Room).Allowed);

    [Fact]
    public void The_bot_never_removes_itself() => Assert.Equal("it is the bot itself", Remove("@bot:hs", Room).WhyNot);

    [Fact]
    public void A_creator_is_never_removed_even_with_no_power_left()
    {
        var power = V11("@alice:hs", """{"users":{"@alice:hs":0}}""");
        Assert.False(Remove("@alice:hs", power).Allowed);
    }

    [Fact]
    public void Anyone_above_users_default_is_protected()
    {
        Assert.False(Remove("@mod:hs", Room).Allowed);
        Assert.False(Remove("@vip:hs", Room).Allowed);
    }

    [Fact]
    public void An_exempt_user_is_never_removed() => Assert.Equal("they are exempt", Remove("@member:hs", Room, exempt: true).WhyNot);

    [Fact]
    public void Nobody_is_removed_before_the_deadline_plus_grace()
    {
        Assert.False(Remove("@member:hs", Room, expiresAt: Now + TimeSpan.FromSeconds(1)).Allowed);
        Assert.False(Remove("@member:hs", Room, expiresAt: Now - TimeSpan.FromHours(1), grace: TimeSpan.FromDays(1)).Allowed);
        Assert.True(Remove("@member:hs", Room, expiresAt: Now - TimeSpan.FromDays(1), grace: TimeSpan.FromDays(1)).Allowed);
    }

    [Fact]
    public void A_lifetime_member_is_never_removed() =>
        Assert.False(AccessRules.MayRemove("@member:hs", "@bot:hs", Room, false, null, hasSubscription: true, TimeSpan.Zero, Now).Allowed);

    [Fact]
    public void An_explicit_protected_level_overrides_the_default()
    {
        var decision = AccessRules.MayRemove("@vip:hs", "@bot:hs", Room, false, Now - Month, true, TimeSpan.Zero, Now, protectedLevel: 50);
        Assert.True(decision.Allowed);
    }

    [Fact]
    public void In_v12_the_bot_can_never_kick_a_creator()
    {
        var power = V12("@alice:hs", """{"users":{"@bot:hs":100}}""");
        Assert.False(power.CanKick("@bot:hs", "@alice:hs"));
        Assert.True(power.CanKick("@bot:hs", "@member:hs"));
    }

    // ---- Invites ----

    [Theory]
    [InlineData("@alice:example.org", false, true)]
    [InlineData("@mallory:evil.org", false, false)]
    [InlineData("@mallory:evil.org", true, true)]
    public void By_default_only_the_bots_own_server_may_invite_it_to_rooms(string inviter, bool isDirect, bool allowed) =>
        Assert.Equal(allowed, InvitePolicy.MayInvite(inviter, isDirect, [], [], "example.org"));

    [Theory]
    [InlineData("@owner:other.org", true)]
    [InlineData("@anyone:friends.org", true)]
    [InlineData("@alice:example.org", false)]
    [InlineData("@op:elsewhere.org", true)]
    public void Allowed_inviters_are_user_ids_and_server_patterns(string inviter, bool allowed) =>
        Assert.Equal(allowed, InvitePolicy.MayInvite(inviter, false, ["@owner:other.org", "*:friends.org"], ["@op:elsewhere.org"], "example.org"));

    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    [Fact]
    public void Paid_within_grace_the_time_runs_from_the_end_so_no_day_is_gained_or_lost()
    {
        var ended = Now - 2 * Day;
        Assert.Equal(ended + Month, AccessRules.Extend(ended, hasSubscription: true, Month, Now, grace: 3 * Day));
        // Past the grace, from now.
        Assert.Equal(Now + Month, AccessRules.Extend(ended, hasSubscription: true, Month, Now, grace: Day));
        // Still running: from the end, grace or not.
        Assert.Equal(Now + Day + Month, AccessRules.Extend(Now + Day, hasSubscription: true, Month, Now, grace: 3 * Day));
    }

    [Fact]
    public void A_grant_adds_from_the_later_of_now_and_the_end()
    {
        Assert.Equal(Now + 10 * Day + Month, AccessRules.Extend(Now + 10 * Day, hasSubscription: true, Month, Now));
        Assert.Equal(Now + Month, AccessRules.Extend(Now - 10 * Day, hasSubscription: true, Month, Now));
        Assert.Null(AccessRules.Extend(Now + Day, hasSubscription: true, null, Now)); // forever
    }

    [Theory]
    [InlineData(30.0, null, false, 27.0)]   // default rule: three days before
    [InlineData(30.0, 5.0, false, 25.0)]    // the owner's lead
    [InlineData(4.0, 5.0, false, 2.0)]      // never more than half the period
    [InlineData(30.0, 0.0, false, null)]    // remind off
    [InlineData(30.0, 5.0, true, null)]     // the member said reminders off
    [InlineData(0.01, null, false, null)] // too short a period for the default rule
    public void The_reminder_comes_at_the_lead_never_more_than_half_the_period(double periodDays, double? leadDays, bool off, double? remindDay)
    {
        var period = TimeSpan.FromDays(periodDays);
        var at = AccessRules.RemindAt(Now + period, period, leadDays is { } l ? TimeSpan.FromDays(l) : null, off);
        Assert.Equal(remindDay is { } d ? Now + TimeSpan.FromDays(d) : null, at);
    }

    [Fact]
    public void No_reminder_for_lifetime_access() => Assert.Null(AccessRules.RemindAt(null, null, null, false));

    private static readonly Gate WithTrial = new("!r:hs", "#r:hs", true, TimeSpan.Zero, 1000, Month, Trial: 3 * Day);

    [Fact]
    public void A_trial_is_once_per_person_and_never_for_anyone_who_paid()
    {
        Assert.Null(AccessRules.MayStartTrial(WithTrial, tookTrial: false, paidBefore: false, null, Now));
        Assert.Equal(TrialRefusal.TakenBefore, AccessRules.MayStartTrial(WithTrial, tookTrial: true, paidBefore: false, null, Now));
        Assert.Equal(TrialRefusal.PaidBefore, AccessRules.MayStartTrial(WithTrial, tookTrial: false, paidBefore: true, null, Now));
        Assert.Equal(TrialRefusal.NotOffered, AccessRules.MayStartTrial(WithTrial with { Trial = null }, false, false, null, Now));
        var granted = new Subscription("!r:hs", "@m:hs", Now + Day, SubscriptionSource.Grant, null);
        Assert.Equal(TrialRefusal.HasAccess, AccessRules.MayStartTrial(WithTrial, false, false, granted, Now));
        Assert.Null(AccessRules.MayStartTrial(WithTrial, false, false, granted with { ExpiresAt = Now - Day, ExpiredAt = Now }, Now));
    }
}
