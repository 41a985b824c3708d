using Doorman.Access;

namespace Doorman.Tests.Access;

public sealed class OrderLimitsTests
{
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
