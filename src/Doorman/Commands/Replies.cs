using Doorman.Access;
using Doorman.Messaging;

namespace Doorman.Commands;

/// <summary>Every reply to a command, in one place so the wording can be reviewed as a whole.</summary>
public static partial class Replies
{
    /// <summary>"1,000 sats per 30 days", "5,000 sats for lifetime access".</summary>
    public static string PriceText(long sats, TimeSpan? period) =>
        Quantities.FormatSats(sats) + (period is { } p ? " per " + Quantities.FormatDuration(p) : " for lifetime access");

    /// <param name="exempted">The room was gated just now and this many people already in it became exempt; null: it was gated before.</param>
    public static Notice Gated(string roomName, long sats, TimeSpan? period, BotPower power, string prefix, int? exempted = null)
    {
        var notice = new Notice().Text("Done: ").Text(roomName).Text(" now costs ").Bold(PriceText(sats, period))
            .Text(". Members ask me in a direct message: ").Code("join " + roomName).Text(" (or ").Code(prefix + " join").Text(" here).");
        if (exempted is 0)
            notice.Line().Text("Nobody else was in the room yet.");
        else if (exempted is { } count)
            notice.Line().Text($"The {Plural(count, "person", "people")} already in the room {(count == 1 ? "is" : "are")} exempt: I will never remove them. ")
                .Text("To make someone pay like everyone else, say ").Code(prefix + " unexempt @name:server").Text(".");
        return notice.Then(power.Warning());
    }

    /// <param name="room">The room as a DM named it; null: the room the command was given in.</param>
    public static Notice NotOwner(string prefix, long required, string? room = null) =>
        new Notice().Text(room is null ? "Only this room's owners can do that" : $"Only the owners of {room} can do that")
            .Text(": you need power level ").Text(Num(required))
            .Text(" (the level that may change power levels), or to be an operator of this bot. Say ").Code(room is null ? prefix + " show" : "plans " + room)
            .Text(room is null ? " to see the current settings." : " to see its plans.");

    public static Notice UnknownRoom(string reference) =>
        new Notice().Text("I don't know the room ").Code(reference)
            .Text(". Check the alias, or use the room's id (it starts with !; room settings → Advanced).");

    public static Notice NotGated(string roomName) =>
        new Notice().Text("The room ").Text(roomName).Text(" is not a paid room, so there is nothing to buy. Ask its owners to invite you.");

    public static Notice Paused(string roomName) =>
        new Notice().Text("The room ").Text(roomName).Text(" is not selling access at the moment. Try again later, or ask its owners.");

    public static Notice Lifetime(string roomName) =>
        new Notice().Text("You already have lifetime access to ").Text(roomName).Text(".");

    /// <param name="resent">The member's open invoice, sent again rather than a new one made.</param>
    public static Notice Invoice(string roomName, long sats, TimeSpan? period, string bolt11, DateTimeOffset invoiceExpiry,
        DateTimeOffset? currentExpiry, DateTimeOffset now, bool resent = false)
    {
        var notice = new Notice();
        if (resent)
            notice.Text("You already have an open invoice for ").Text(roomName)
                .Text(", so here is the same invoice again (I made no new one: pay it only once).").Line();
        notice.Text("To ").Text(currentExpiry is { } current && current > now ? "renew" : "join").Text(" ").Text(roomName)
            .Text(", pay ").Bold(Quantities.FormatSats(sats)).Text(period is { } p ? $" for {Quantities.FormatDuration(p)}" : " for lifetime access")
            .Text(" with this Lightning invoice:").Block(bolt11)
            .Link("Open in your wallet", "lightning:" + bolt11).Line();
        if (currentExpiry is { } until && until > now && period is { } extra)
            notice.Text($"You are a member until {Quantities.FormatTime(until)}; paying extends that to {Quantities.FormatTime(AccessRules.Extend(until, true, extra, now)!.Value)}.").Line();
        return notice.Text($"The invoice can be paid until {Quantities.FormatTime(invoiceExpiry)}. I'll invite you as soon as it is paid.");
    }

    public static Notice Banned(string roomName) =>
        new Notice().Text("You are banned from ").Text(roomName).Text(", so I can't sell you access to it. If you think that is a mistake, ask its owners to lift the ban.");

    public static Notice BotCannotInvite(string roomName, long botLevel, long inviteLevel, string prefix) =>
        new Notice().Text("I can't sell access to ").Text(roomName).Text($" right now: I don't have the power to invite there (I need power level {Num(inviteLevel)}, I have {Num(botLevel)}), so I could not let you in after you paid. Ask its owners to raise my power level (")
            .Code(prefix + " show").Text(" in the room tells them what I need), then ask me again.");

    public static Notice BotNotInRoom(string roomName) =>
        new Notice().Text("I can't sell access to ").Text(roomName)
            .Text(" right now: I am not in that room, so I could not invite you after you paid. Ask its owners to invite me back, then ask me again.");

    public static Notice TooManyOpenOrders(IReadOnlyList<(string RoomName, Order Order)> open)
    {
        var notice = new Notice().Text($"You already have {open.Count} unpaid invoices open, the most I keep for one person:").Line();
        foreach (var (name, order) in open)
            notice.Text("• ").Text(name).Text($": {Quantities.FormatSats(order.AmountMsat / 1000)}, payable until {Quantities.FormatTime(order.ExpiresAt)}").Line();
        return notice.Text("Pay one of them, or wait until one expires at the time shown, then ask again. Say ").Code("status")
            .Text(" to see them.");
    }

    public static Notice TooFarAhead(string roomName, TimeSpan? period, PaidReach reach)
    {
        var notice = new Notice();
        if (reach.PaidUntil is { } until)
            notice.Text("Your time in ").Text(roomName).Text($" already runs until {Quantities.FormatTime(until)} (counting any invoice still open for it). ");
        return notice.Text(period is { } p ? $"Paying for another {Quantities.FormatDuration(p)}" : "Paying again")
            .Text($" would take it to {Quantities.FormatTime(reach.WouldReach)}, more than ten years ({Quantities.FormatDuration(OrderLimits.MaxPaidAhead)}) ahead, which is the furthest I sell. ")
            .Text($"You can renew from {Quantities.FormatTime(reach.AskAgainFrom)}.");
    }

    public static Notice InvoiceSentPrivately(string roomName) =>
        new Notice().Text("I sent you an invoice for ").Text(roomName).Text(" in a direct message.");

    public static Notice PaymentsUnavailable() =>
        new Notice().Text("I can't make an invoice right now: the payment node is not answering. Please try again in a few minutes.");

    public static Notice Status(IReadOnlyList<(string RoomName, Subscription Subscription)> subscriptions,
        IReadOnlyList<(string RoomName, Order Order)> pending, DateTimeOffset now)
    {
        var notice = new Notice();
        if (subscriptions.Count == 0 && pending.Count == 0)
            return notice.Text("You have no paid rooms with me. Say ").Code("join #room:server").Text(" to join one.");
        notice.Text("Your rooms and open invoices:").Line();
        foreach (var (name, sub) in subscriptions)
        {
            notice.Text("• ").Text(name).Text($" ({SourceText(sub.Source, sub.PlanName)}): ");
            if (sub.ExpiresAt is not { } until)
                notice.Text("lifetime access.");
            else if (until > now)
                notice.Text("member until " + Quantities.FormatWhen(until, now) + (sub.RemindersOff ? "; reminders off." : "."));
            else if (sub.IsActive)
                notice.Text("time ended " + Quantities.FormatWhen(until, now) + " — say ").Code("renew " + name).Text(" to stay.");
            else
                notice.Text("expired " + Quantities.FormatWhen(until, now) + " — say ").Code("renew " + name).Text(" to come back.");
            notice.Line();
        }
        foreach (var (name, order) in pending)
            notice.Text("• ").Text(name).Text($": an invoice for {Quantities.FormatSats(order.AmountMsat / 1000)} ({order.PlanName} plan) can be paid until {Quantities.FormatWhen(order.ExpiresAt, now)}.").Line();
        return notice;
    }

    private static string SourceText(SubscriptionSource source, string? plan) => source switch
    {
        SubscriptionSource.Paid => plan is null ? "paid" : $"paid, {plan} plan",
        SubscriptionSource.Grant => "complimentary",
        _ => "free trial",
    };

    public static Notice Help(string prefix, bool isDirect)
    {
        var notice = new Notice().Text("I sell access to Matrix rooms for Lightning payments.").Line()
            .Bold("Members").Text(isDirect ? " (here, or with " : " (in a direct message with me, or with ").Code(prefix).Text(" in a room):").Line();
        foreach (var usage in CommandHelp.Member)
            notice.Code(usage.Form(prefix, isDirect)).Text(" — " + usage.Effect + ".").Line();
        notice.Bold("Owners").Text(isDirect ? " (name the room first):" : " (in the room, or in a direct message naming the room first):").Line();
        foreach (var usage in CommandHelp.Owner)
            notice.Code(usage.Form(prefix, isDirect)).Text(" — " + usage.Effect + ".").Line();
        return notice.Text("Durations: s, m, h, d, w (30d, 12h). Say ").Code(isDirect ? "help <command>" : prefix + " help <command>").Text(" for an example.");
    }

    public static Notice HelpFor(string name, string prefix, bool isDirect)
    {
        var usage = CommandHelp.Find(name)!;
        var notice = new Notice().Code(usage.Form(prefix, isDirect)).Text(" — " + usage.Effect + ".");
        if (usage.Example.Length > 0)
            notice.Line().Text("For example: ").Code(usage.Form(prefix, isDirect, example: true));
        if (usage.Owner)
            notice.Line().Text(isDirect ? "In a room, leave the room out: " : "In a direct message with me, name the room first: ")
                .Code(usage.Form(prefix, !isDirect, example: usage.Example.Length > 0));
        return notice;
    }

    /// <param name="wait">Until the sender's next command would be accepted.</param>
    public static Notice SlowDown(CommandRate rate, TimeSpan wait)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
        return new Notice().Text($"You are sending me commands too fast: I answer at most {rate.PerMinute} a minute from one person, {rate.Burst} in a row. ")
            .Text($"Please wait {Quantities.FormatDuration(TimeSpan.FromSeconds(seconds))} before your next command; until then I will not answer.");
    }

    public static Notice Invalid(string problem) => new Notice().Text(problem);

    public static Notice TryAgainLater() =>
        new Notice().Text("I could not do that just now: the homeserver or another server it needs is not answering. Please try again in a few minutes.");

    public static Notice SentPrivately(string what) =>
        new Notice().Text("I sent you ").Text(what).Text(" in a direct message.");

    public static Notice Failed() =>
        new Notice().Text("Something went wrong on my side and I could not do that. The operator can find the details in my log.");

    private static string Num(long level) => level == Matrix.Rooms.RoomPower.Infinite ? "∞" : level.ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal static string Plural(long count, string one, string many) =>
        count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " " + (count == 1 ? one : many);

    private static Notice Then(this Notice notice, Notice? more) => more is null ? notice : notice.Line().Text(more.PlainText);
}

/// <summary>The bot's own power in a room, for <c>show</c> and for warnings.</summary>
public sealed record BotPower(long Level, long InviteLevel, long KickLevel, bool CanInvite, bool CanKick)
{
    public static BotPower Of(string botUserId, Matrix.Rooms.RoomPower power) =>
        new(power.LevelOf(botUserId), power.InviteLevel, power.KickLevel, power.CanInvite(botUserId), power.LevelOf(botUserId) >= power.KickLevel);

    public Notice? Warning() =>
        CanInvite && CanKick ? null
        : new Notice().Text($"⚠ I need more power to do the job: power level {Math.Max(InviteLevel, KickLevel)} lets me invite and remove members (I have {Level}).");
}
