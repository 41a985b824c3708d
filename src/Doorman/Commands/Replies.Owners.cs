using Doorman.Access;
using Doorman.Messaging;
using Doorman.Rooms;
using Doorman.Storage;

namespace Doorman.Commands;

// Replies to the owners' commands and to members' plans, trial and reminders.
public static partial class Replies
{
    private static readonly string[] Sources = ["paid", "grant", "trial", "exempt"];

    public static Notice NotGatedYet(string room, string prefix, bool isDirect) =>
        new Notice().Text("The room ").Text(room).Text(" is not gated yet: set its price first, e.g. ").Code(CommandHelp.Form("set", prefix, isDirect, example: true)).Text(".");

    public static Notice DirectRoomNotGated() =>
        new Notice().Text("That is a direct message room, and I never sell access to those. Name the room you want to gate.");

    public static Notice TooManyPlans(int max) =>
        new Notice().Text($"The room has {max} plans, the most I keep. Remove one first (").Code("plan remove <name>").Text(").");

    public static Notice PlanExists(string name) =>
        new Notice().Text("There is a plan named ").Code(name).Text(" already. Remove it first (").Code("plan remove " + name).Text("), or pick another name.");

    public static Notice NoSuchPlan(string name, IReadOnlyList<Plan> plans) =>
        new Notice().Text("There is no plan named ").Code(name).Text(". The plans are: ").Text(string.Join(", ", plans.Select(p => p.Name))).Text(".");

    public static Notice CannotRemoveDefault(string name) =>
        new Notice().Text("The plan ").Code(name).Text(" is the default, so it cannot be removed. Make another plan the default first (")
            .Code("plan default <name>").Text(").");

    public static Notice PlanAdded(string room, string name, long sats, TimeSpan? period) =>
        new Notice().Text("Added the plan ").Code(name).Text(" to ").Text(room).Text(": ").Bold(PriceText(sats, period))
            .Text(". Members choose it with ").Code($"join {room} {name}").Text(".");

    public static Notice PlanRemoved(string name, string defaultPlan) =>
        new Notice().Text("Removed the plan ").Code(name).Text(". Members on it keep their time, and renew on the ").Code(defaultPlan).Text(" plan.");

    public static Notice PlanMadeDefault(string room, string name) =>
        new Notice().Text("The plan ").Code(name).Text(" is now the default for ").Text(room).Text(": ").Code("join").Text(" without a plan, and knocks, buy it.");

    public static Notice TrialSet(string room, TimeSpan? length) =>
        length is { } l
            ? new Notice().Text("The room ").Text(room).Text($" now offers a free trial of {Quantities.FormatDuration(l)}, once per person, never to anyone who has paid. Members start it with ")
                .Code($"join {room} trial").Text(".")
            : new Notice().Text("The room ").Text(room).Text(" offers no free trial any more. Trials already running go on until they end.");

    public static Notice GraceSet(string room, TimeSpan grace) =>
        grace == TimeSpan.Zero
            ? new Notice().Text("No grace in ").Text(room).Text(": members are removed as soon as their time ends.")
            : new Notice().Text($"Members of {room} whose time ends may stay {Quantities.FormatDuration(grace)} more to renew; ")
                .Text("paying then extends from the end of their time, so nobody gains or loses days.");

    public static Notice RemindSet(string room, TimeSpan lead) =>
        lead == TimeSpan.Zero
            ? new Notice().Text("No more reminders for ").Text(room).Text(".")
            : new Notice().Text($"Members of {room} get a reminder with a renewal invoice {Quantities.FormatDuration(lead)} before their time ends ")
                .Text("(at most half their period before it).");

    /// <param name="onCommand">How to say <c>on</c> where the command was given.</param>
    public static Notice SellingSet(string room, bool on, string onCommand) =>
        on ? new Notice().Text("The room ").Text(room).Text(" is on sale again.")
            : new Notice().Text("Stopped selling ").Text(room).Text(". Members keep their time and may still renew; say ").Code(onCommand).Text(" to sell again.");

    public static Notice ExemptSet(string room, string userId, bool exempt, bool changed) =>
        (exempt, changed) switch
        {
            (true, true) => new Notice().Text("Done: ").Text(userId).Text(" is exempt, and I will never remove them from ").Text(room).Text("."),
            (true, false) => new Notice().Text("Nothing to do: ").Text(userId).Text(" was exempt already."),
            (false, true) => new Notice().Text("Done: ").Text(userId).Text(" is no longer exempt, and the normal rules apply to them in ").Text(room).Text("."),
            _ => new Notice().Text("Nothing to do: ").Text(userId).Text(" was not exempt."),
        };

    public static Notice AlreadyLifetime(string userId) =>
        new Notice().Text("Nothing to add: ").Text(userId).Text(" has lifetime access already.");

    public static Notice GrantTooFar(string userId, DateTimeOffset reach) =>
        new Notice().Text($"That would take {userId}'s time to {Quantities.FormatTime(reach)}, more than ten years ahead, the furthest I go. Grant less, or ")
            .Code("forever").Text(".");

    public static Notice Granted(string roomName, DateTimeOffset? until, DateTimeOffset now) =>
        new Notice().Text("An owner of ").Bold(roomName).Text(" gave you complimentary access")
            .Text(until is { } u ? $" until {Quantities.FormatWhen(u, now)}." : " for life.").Text(" I'm inviting you now if you are not in already.");

    public static Notice GrantDone(string room, string userId, DateTimeOffset? until, DateTimeOffset now) =>
        new Notice().Text("Granted: ").Text(userId).Text(" has access to ").Text(room)
            .Text(until is { } u ? $" until {Quantities.FormatWhen(u, now)}" : " for life").Text(". I told them, and invite them if they are not in.");

    public static Notice Revoked(string room, string userId, bool hadTime, string? protectedBecause) =>
        protectedBecause is { } why
            ? new Notice().Text(hadTime ? $"Ended {userId}'s time in {room}, " : $"Done: {userId} had no time in {room}, ")
                .Text($"but I will not remove them: {why}.")
            : new Notice().Text(hadTime ? $"Ended {userId}'s time in {room}" : $"Done: {userId} had no time in {room}").Text("; removing them now and telling them.");

    public static Notice UnknownPlan(string room, string plan, IReadOnlyList<Plan> plans, string prefix, bool isDirect) =>
        new Notice().Text("The room ").Text(room).Text(" has no plan named ").Code(plan).Text(". Its plans: ")
            .Text(string.Join(", ", plans.Select(p => $"{p.Name} ({PriceText(p.PriceMsat / 1000, p.Period)})"))).Text(". Say ")
            .Code(isDirect ? $"plans {room}" : prefix + " plans").Text(" for details.");

    public static Notice Plans(Gate gate, IReadOnlyList<Plan> plans, Subscription? subscription, TrialRefusal? trial, DateTimeOffset now)
    {
        var room = gate.RoomName;
        var notice = new Notice().Text("Plans of ").Bold(room).Text(gate.Enabled ? "" : " (not selling at the moment; members may renew)").Text(":").Line();
        foreach (var plan in plans)
            notice.Text("• ").Code(plan.Name).Text(": " + PriceText(plan.PriceMsat / 1000, plan.Period) + (plan.IsDefault ? " (default)" : "")).Line();
        if (gate.Trial is { } length && trial is null)
            notice.Text($"• free trial: {Quantities.FormatDuration(length)} — start it with ").Code($"join {room} trial").Text(".").Line();
        else if (gate.Trial is { } offered)
            notice.Text($"• free trial: {Quantities.FormatDuration(offered)} (not for you: {TrialRefusalText(trial!.Value)}).").Line();
        if (subscription is { IsActive: true } s)
            notice.Text($"You: {SourceText(s.Source, s.PlanName)}, ")
                .Text(s.ExpiresAt is { } until ? $"until {Quantities.FormatWhen(until, now)}. Renew with " : "lifetime access.").Code(s.ExpiresAt is null ? "" : $"renew {room} [plan]").Text(s.ExpiresAt is null ? "" : ".");
        else
            notice.Text("Join with ").Code($"join {room} [plan]").Text(".");
        return notice;
    }

    private static string TrialRefusalText(TrialRefusal refusal) => refusal switch
    {
        TrialRefusal.TakenBefore => "you have had it",
        TrialRefusal.PaidBefore => "you have paid for the room before",
        TrialRefusal.HasAccess => "you have access already",
        _ => "the room offers none",
    };

    public static Notice NoTrial(string room, TrialRefusal refusal, string prefix, bool isDirect) =>
        new Notice().Text(refusal == TrialRefusal.NotOffered ? $"{room} offers no free trial. " : $"No free trial of {room} for you: {TrialRefusalText(refusal)}. ")
            .Text("Say ").Code(isDirect ? $"plans {room}" : prefix + " plans").Text(" to see how to join.");

    public static Notice TrialStarted(string room, DateTimeOffset end, DateTimeOffset now) =>
        new Notice().Text("Your free trial of ").Bold(room).Text($" runs until {Quantities.FormatWhen(end, now)}. I'm inviting you now; ")
            .Text("before it ends I'll send you an invoice to stay.");

    public static Notice RemindersSet(string room, bool on) =>
        on ? new Notice().Text("Reminders for ").Text(room).Text(" are on: I'll send you a renewal invoice before your time ends.")
            : new Notice().Text("No more reminders for ").Text(room).Text(". Your time still ends when it ends; say ").Code("status").Text(" to check it.");

    public static Notice NoSubscription(string room, string prefix, bool isDirect) =>
        new Notice().Text("You have no time in ").Text(room).Text(" to set reminders for. Say ").Code(isDirect ? $"plans {room}" : prefix + " plans").Text(" to join.");

    public static Notice Members(string room, IReadOnlyList<MemberReport> members, int shown, DateTimeOffset now)
    {
        if (members.Count == 0)
            return new Notice().Text("Nobody has access to ").Text(room).Text(" yet.");
        var notice = new Notice().Text("Everyone with access to ").Text(room).Text($": {Plural(members.Count, "person", "people")}")
            .Text(members.Count > shown ? $", the first {shown} shown:" : ":").Line();
        foreach (var m in members.Take(shown))
        {
            notice.Text("• ").Text(m.UserId).Text(" — " + m.Source + (m.Plan is { } plan ? ", " + plan : "") + ", ")
                .Text(m.Source == "exempt" ? "never removed" : m.ExpiresAt is { } until ? "until " + Quantities.FormatWhen(until, now) : "lifetime").Line();
        }
        return notice;
    }

    public static Notice Stats(string room, RoomStats stats)
    {
        var notice = new Notice().Text("Figures for ").Bold(room).Line()
            .Text($"Paid orders: {stats.PaidOrders:N0} ({Quantities.FormatSats(stats.PaidMsat / 1000)}); last 30 days: {stats.PaidOrders30Days:N0} ({Quantities.FormatSats(stats.PaidMsat30Days / 1000)}).").Line();
        var sources = string.Join(", ", Sources.Select(s => $"{stats.ActiveBySource.GetValueOrDefault(s):N0} {s}"));
        return notice.Text($"Members now: {stats.ActiveBySource.Values.Sum():N0} ({sources}).").Line()
            .Text($"Ending within 7 days: {stats.ExpiringWithin7Days:N0}. Left in the last 30 days: {stats.Churned30Days:N0}. Open invoices: {stats.OpenInvoices:N0}.");
    }

    public static Notice Log(string room, IReadOnlyList<AuditEntry> entries, DateTimeOffset now)
    {
        if (entries.Count == 0)
            return new Notice().Text("No owner actions in ").Text(room).Text(" yet.");
        var notice = new Notice().Text($"The last {Plural(entries.Count, "owner action", "owner actions")} in ").Text(room).Text(", newest first:").Line();
        foreach (var e in entries)
            notice.Text($"• {Quantities.FormatWhen(e.At, now)} — ").Text(e.Actor).Text(": " + e.Action + (e.Detail is { } d ? " " + d : "")).Line();
        return notice;
    }

    /// <summary><c>show</c> from someone who is not an owner: what members may know.</summary>
    public static Notice PublicShow(string room, Gate? gate, string prefix, bool isDirect) =>
        gate is null
            ? new Notice().Text("The room ").Text(room).Text(" is not gated.")
            : new Notice().Text("The room ").Text(room).Text(" costs ").Bold(PriceText(gate.PriceMsat / 1000, gate.Period))
                .Text(gate.Enabled ? "." : " (sales are paused).").Text(" Say ").Code(isDirect ? $"plans {room}" : prefix + " plans").Text(" for every plan.");

    public static Notice Show(string room, Gate? gate, IReadOnlyList<Plan> plans, BotPower power, RoomSettings settings,
        IReadOnlyList<(string Kind, string Detail, DateTimeOffset OpenedAt)> alerts, string prefix, bool isDirect, DateTimeOffset now)
    {
        var notice = new Notice();
        if (gate is null)
            notice.Text("The room ").Text(room).Text(" is not gated. Gate it with ").Code(CommandHelp.Form("set", prefix, isDirect, example: true)).Text(".");
        else
        {
            notice.Text("The room ").Text(room).Text(" costs ").Bold(PriceText(gate.PriceMsat / 1000, gate.Period))
                .Text(gate.Enabled ? "." : " (sales are paused with off; members may still renew).").Line();
            if (plans.Count > 1)
            {
                foreach (var plan in plans)
                    notice.Text("• plan ").Code(plan.Name).Text(": " + PriceText(plan.PriceMsat / 1000, plan.Period) + (plan.IsDefault ? " (default)" : "")).Line();
            }
            notice.Text("• trial: " + (gate.Trial is { } t ? Quantities.FormatDuration(t) : "off")).Line()
                .Text("• grace: " + (gate.Grace > TimeSpan.Zero ? Quantities.FormatDuration(gate.Grace) : "none")).Line()
                .Text("• reminders: " + (gate.RemindLead is { } l ? l == TimeSpan.Zero ? "off" : Quantities.FormatDuration(l) + " before the end" : "3 days before the end (a tenth of shorter periods)"));
        }
        notice.Line().Text(power.CanInvite ? "✓ I can invite members." : $"✗ I cannot invite: I need power level {Num(power.InviteLevel)}, I have {Num(power.Level)}.");
        notice.Line().Text(power.CanKick ? "✓ I can remove members whose time is up." : $"✗ I cannot remove members: I need power level {Num(power.KickLevel)}, I have {Num(power.Level)}.");
        notice.Line().Text(settings.JoinRule == "public"
            ? "✗ Anyone can join this room without paying (join rule: public). Set it to knock (members knock, I answer with an invoice) or invite."
            : $"✓ Join rule: {settings.JoinRule}.");
        notice.Line().Text(settings.Encrypted
            ? "• The room is encrypted: I read commands given in it and answer encrypted."
            : "• The room is not encrypted.");
        foreach (var (_, detail, openedAt) in alerts)
            notice.Line().Text($"⚠ Since {Quantities.FormatWhen(openedAt, now)}: {detail}");
        return notice;
    }
}
