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

    /// <summary>An invite that was not paid for (a trial, a grant): the member was already told why, this says it is done.</summary>
    public static Notice Invited(string roomName) =>
        new Notice().Text("I invited you to ").Bold(roomName).Text(": accept the invite to come in.");

    public static string RevokeReason => "An owner ended your access";

    /// <summary>An invite that had to wait for the bot's power went through.</summary>
    public static Notice InvitedAfterWaiting(string roomName, DateTimeOffset? until) =>
        new Notice().Text("Good news: I have the power to invite in ").Bold(roomName).Text(" now, and I have invited you")
            .Text(until is { } u ? $". Your access lasts until {Quantities.FormatTime(u)}." : ". Your access does not expire.");

    public static Notice Removed(string roomName, DateTimeOffset expiredAt) =>
        new Notice().Text("Your access to ").Bold(roomName).Text($" ended on {Quantities.FormatTime(expiredAt)}, so I removed you. ")
            .Text("To come back, say ").Code("renew " + roomName).Text(" here and pay the invoice; I'll invite you again at once.");

    public static Notice Revoked(string roomName) =>
        new Notice().Text("An owner of ").Bold(roomName).Text(" ended your access, so I removed you. ")
            .Text("If you think that is a mistake, ask them; say ").Code("plans " + roomName).Text(" to see how to come back.");

    public static string KickReason => "Paid access ended; send the bot \"renew\" to come back";

    public static string KnockDeclinedReason => "The invoice for this knock expired unpaid; knock again, or send the bot \"join\", to try again";

    public static string InviteReason => "Paid access";

    // What went wrong is said in our words, chosen by the kind of failure: the homeserver's error text (which may name
    // hosts, ports or internals) goes to the log only.

    /// <summary>To the room's owners. Not sent when the room is gone (<see cref="MembershipFailure.RoomGone"/>): no one would read it.</summary>
    public static Notice CannotInvite(string userId, MembershipFailure why) =>
        new Notice().Text("⚠ I could not invite ").Text(userId).Text(", who has paid: ").Text(why switch
        {
            MembershipFailure.NoPower => "I lack the power to invite here. Please give me power to invite (and remove) members: I will invite them as soon as I have it.",
            MembershipFailure.Banned => "they are banned from this room. If they should come in, lift the ban and invite them yourself.",
            MembershipFailure.Refused => "the homeserver refused. Please invite them yourself.",
            MembershipFailure.RoomGone => "I am no longer in this room.",
            _ => "the homeserver kept failing, and I have stopped trying. Please invite them yourself.",
        });

    public static Notice CannotKick(string userId, MembershipFailure why) =>
        new Notice().Text("⚠ I could not remove ").Text(userId).Text(", whose paid time is over: ").Text(why switch
        {
            MembershipFailure.NoPower => "I lack the power to remove them. Please give me power to remove members (above theirs), or remove them yourself.",
            MembershipFailure.Refused => "the homeserver refused. Please remove them yourself.",
            MembershipFailure.RoomGone => "I am no longer in this room.",
            MembershipFailure.Banned => "they are banned already.",
            _ => "the homeserver kept failing, and I have stopped trying. Please remove them yourself.",
        });

    public static Notice InviteFailedToMember(string roomName, MembershipFailure why) =>
        new Notice().Text("Your payment for ").Bold(roomName).Text(" arrived, but I could not invite you: ").Text(why switch
        {
            MembershipFailure.NoPower => "I lack the power in that room. I told its owners, and I will invite you as soon as they give it to me",
            MembershipFailure.Banned => "you are banned from that room. Please ask its owners",
            MembershipFailure.RoomGone => "I am no longer in that room. Please ask its owners",
            MembershipFailure.Refused => "the homeserver refused. I told the room's owners",
            _ => "the homeserver kept failing. I told the room's owners",
        }).Text("; your time is counted from your payment.");
}

/// <summary>Why an invite or kick cannot be done: what owners and members are told, in our words.</summary>
public enum MembershipFailure
{
    /// <summary>The bot's power level is too low for the invite or kick (or below the member's, for a kick).</summary>
    NoPower,
    /// <summary>The bot is no longer in the room, or the room does not exist.</summary>
    RoomGone,
    /// <summary>The member is banned from the room.</summary>
    Banned,
    /// <summary>The homeserver said no for a reason we cannot name (the bot has the power, the member is not banned).</summary>
    Refused,
    /// <summary>Every attempt failed (5xx, timeouts, network errors) until the bot gave up.</summary>
    HomeserverFailing,
}
