using Doorman.Access;
using Doorman.Messaging;

namespace Doorman.Outbox;

/// <summary>What members and owners are told when the bot invites or removes someone.</summary>
public static class MembershipTexts
{
    public static Notice Welcome(string roomName, DateTimeOffset? until) =>
        new Notice().Text("Payment received — welcome! I invited you to ").Bold(roomName)
            .Text(until is { } u ? $". Your access lasts until {Quantities.FormatTime(u)}." : ". Your access does not expire.");

    public static Notice Renewed(string roomName, DateTimeOffset? until) =>
        new Notice().Text("Payment received — thank you. Your access to ").Bold(roomName)
            .Text(until is { } u ? $" now lasts until {Quantities.FormatTime(u)}." : " no longer expires.");

    public static Notice Removed(string roomName, DateTimeOffset expiredAt) =>
        new Notice().Text("Your access to ").Bold(roomName).Text($" ended on {Quantities.FormatTime(expiredAt)}, so I removed you. ")
            .Text("To come back, say ").Code("renew " + roomName).Text(" here and pay the invoice; I'll invite you again at once.");

    public static string KickReason => "Paid access ended; send the bot \"renew\" to come back";

    public static string InviteReason => "Paid access";

    public static Notice CannotInvite(string userId, string why) =>
        new Notice().Text("⚠ I could not invite ").Text(userId).Text(", who has paid: ").Text(why)
            .Text(". Please give me power to invite (and remove) members, or invite them yourself.");

    public static Notice CannotKick(string userId, string why) =>
        new Notice().Text("⚠ I could not remove ").Text(userId).Text(", whose paid time is over: ").Text(why).Text(".");

    public static Notice InviteFailedToMember(string roomName) =>
        new Notice().Text("Your payment for ").Bold(roomName)
            .Text(" arrived, but I could not invite you: I lack the power in that room. I told its owners; your time is counted from your payment.");
}
