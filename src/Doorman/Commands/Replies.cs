using Doorman.Access;
using Doorman.Messaging;

namespace Doorman.Commands;

/// <summary>Every reply to a command, in one place so the wording can be reviewed as a whole.</summary>
public static class Replies
{
    public static Notice Price(long sats, TimeSpan? period) =>
        new Notice().Bold(Quantities.FormatSats(sats)).Text(period is { } p ? " per " + Quantities.FormatDuration(p) : " for lifetime access");

    public static Notice Gated(string roomName, long sats, TimeSpan period, BotPower power, string prefix) =>
        new Notice().Text("Done: ").Text(roomName).Text(" now costs ").Bold(Quantities.FormatSats(sats)).Text(" per ")
            .Text(Quantities.FormatDuration(period)).Text(". Members ask me in a direct message: ").Code("join " + roomName)
            .Text(" (or ").Code(prefix + " join").Text(" here).").Then(power.Warning());

    public static Notice NotOwner(string prefix, long required) =>
        new Notice().Text("Only this room's owners can change its price: you need power level ").Text(Num(required))
            .Text(" (the level that may change power levels), or to be an operator of this bot. Say ").Code(prefix + " show")
            .Text(" to see the current price.");

    public static Notice SetInDirectRoom(string prefix) =>
        new Notice().Text("Say that in the room you want to gate: ").Code(prefix + " set 1000 sats per 30d").Text(".");

    public static Notice Show(string roomName, Gate? gate, BotPower power, string prefix)
    {
        var notice = new Notice();
        if (gate is null)
            notice.Text("The room ").Text(roomName).Text(" is not gated. An owner can gate it with ").Code(prefix + " set 1000 sats per 30d").Text(".");
        else
            notice.Text("The room ").Text(roomName).Text(" costs ").Bold(Quantities.FormatSats(gate.PriceMsat / 1000))
                .Text(gate.Period is { } p ? " per " + Quantities.FormatDuration(p) : " for lifetime access")
                .Text(gate.Enabled ? "." : " (sales are paused).");
        notice.Line().Text(power.CanInvite ? "✓ I can invite members." : $"✗ I cannot invite: I need power level {Num(power.InviteLevel)}, I have {Num(power.Level)}.");
        notice.Line().Text(power.CanKick ? "✓ I can remove members whose time is up." : $"✗ I cannot remove members: I need power level {Num(power.KickLevel)}, I have {Num(power.Level)}.");
        return notice;
    }

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
            notice.Text("• ").Text(name).Text(": ");
            if (sub.ExpiresAt is not { } until)
                notice.Text("lifetime access.");
            else if (until > now)
                notice.Text("member until " + Quantities.FormatTime(until) + ".");
            else
                notice.Text("expired " + Quantities.FormatTime(until) + " — say ").Code("renew " + name).Text(" to come back.");
            notice.Line();
        }
        foreach (var (name, order) in pending)
            notice.Text("• ").Text(name).Text($": an invoice for {Quantities.FormatSats(order.AmountMsat / 1000)} can be paid until {Quantities.FormatTime(order.ExpiresAt)}.").Line();
        return notice;
    }

    public static Notice Help(string prefix, bool isDirect)
    {
        var p = isDirect ? "" : prefix + " ";
        return new Notice().Text("I sell access to Matrix rooms for Lightning payments.").Line()
            .Bold("Members").Text(" (in a direct message with me, or with ").Code(prefix).Text(" in a room):").Line()
            .Code(p + "join #room:server").Text(" — get an invoice; I invite you once it is paid.").Line()
            .Code(p + "renew #room:server").Text(" — extend your time.").Line()
            .Code(p + "status").Text(" — your rooms and when your time runs out.").Line()
            .Bold("Owners").Text(" (in the room to gate):").Line()
            .Code(prefix + " set 1000 sats per 30d").Text(" — gate the room at that price (durations: s, m, h, d, w).").Line()
            .Code(prefix + " show").Text(" — the price, and whether I have the power to invite and remove members.");
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
