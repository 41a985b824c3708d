namespace Doorman.Access;

/// <summary>
/// What must hold before an invoice is issued, and the bounds on what one member can ask for. Pure functions of
/// what the stores and the homeserver say, and of time.
/// </summary>
public static class OrderLimits
{
    /// <summary>
    /// Whether the room, as the homeserver shows it now, can take the member once they have paid: the bot can read
    /// it, the member is not banned, and the bot has the power to invite. Null: it can.
    /// </summary>
    public static OrderRefusal? RoomRefusal(RoomFacts? facts) => facts switch
    {
        null => OrderRefusal.BotNotInRoom,
        { MemberBanned: true } => OrderRefusal.Banned,
        { BotCanInvite: false } => OrderRefusal.BotCannotInvite,
        _ => null,
    };
}
