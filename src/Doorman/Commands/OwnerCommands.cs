using System.Globalization;
using System.Text;
using Doorman.Access;
using Doorman.Matrix;
using Doorman.Matrix.Rooms;
using Doorman.Messaging;
using Doorman.Storage;

namespace Doorman.Commands;

/// <summary>The room an owner command acts on, its owner checked against live state.</summary>
/// <param name="Shown">How replies name the room.</param>
internal sealed record OwnedRoom(string RoomId, string Shown, RoomPower Power, Gate? Gate);

// Owners' commands (docs/owners.md). Each change is written with its audit entry and its reply in one transaction.
public sealed partial class CommandHandler
{
    /// <summary>How many members <c>members</c> lists; the total is always given.</summary>
    public const int MembersShown = 50;

    /// <summary>How many owner actions <c>log</c> shows.</summary>
    public const int LogShown = 20;

    private async Task OwnerAsync(CommandContext context, OwnerCommand command, CancellationToken cancellationToken)
    {
        if (await OwnedRoomAsync(context, command, cancellationToken) is not { } room)
            return;
        var now = time.GetUtcNow();
        switch (command)
        {
            case SetPriceCommand set:
                await SetPriceAsync(context, room, set, now, cancellationToken);
                break;
            case PlanAddCommand add:
                await ChangeAsync(context, async tx =>
                {
                    var plans = await gates.GetPlansAsync(tx, room.RoomId);
                    if (plans.Count >= GateStore.MaxPlans)
                        return Replies.TooManyPlans(GateStore.MaxPlans);
                    if (!await gates.AddPlanAsync(tx, room.RoomId, add.Name, add.Sats * 1000, add.Period, now))
                        return Replies.PlanExists(add.Name);
                    await AuditAsync(tx, context, room, "plan add", $"{add.Name}: {Replies.PriceText(add.Sats, add.Period)}", now);
                    return Replies.PlanAdded(room.Shown, add.Name, add.Sats, add.Period);
                }, cancellationToken);
                break;
            case PlanRemoveCommand remove:
                await ChangeAsync(context, async tx =>
                {
                    if (remove.Name == room.Gate!.DefaultPlan)
                        return Replies.CannotRemoveDefault(remove.Name);
                    if (!await gates.RemovePlanAsync(tx, room.RoomId, remove.Name))
                        return Replies.NoSuchPlan(remove.Name, await gates.GetPlansAsync(tx, room.RoomId));
                    await AuditAsync(tx, context, room, "plan remove", remove.Name, now);
                    return Replies.PlanRemoved(remove.Name, room.Gate.DefaultPlan);
                }, cancellationToken);
                break;
            case PlanDefaultCommand makeDefault:
                await ChangeAsync(context, async tx =>
                {
                    if (!await gates.SetDefaultPlanAsync(tx, room.RoomId, makeDefault.Name))
                        return Replies.NoSuchPlan(makeDefault.Name, await gates.GetPlansAsync(tx, room.RoomId));
                    await AuditAsync(tx, context, room, "plan default", makeDefault.Name, now);
                    return Replies.PlanMadeDefault(room.Shown, makeDefault.Name);
                }, cancellationToken);
                break;
            case TrialCommand trial:
                await ChangeAsync(context, async tx =>
                {
                    await gates.SetTrialAsync(tx, room.RoomId, trial.Length, context.Sender, now);
                    await AuditAsync(tx, context, room, "trial", trial.Length is { } l ? Quantities.FormatDuration(l) : "off", now);
                    return Replies.TrialSet(room.Shown, trial.Length);
                }, cancellationToken);
                break;
            case GraceCommand grace:
                await ChangeAsync(context, async tx =>
                {
                    await gates.SetGraceAsync(tx, room.RoomId, grace.Length, context.Sender, now);
                    await AuditAsync(tx, context, room, "grace", Quantities.FormatDuration(grace.Length), now);
                    return Replies.GraceSet(room.Shown, grace.Length);
                }, cancellationToken);
                await deadlines.ScheduleAtAsync(now, cancellationToken);
                break;
            case RemindCommand remind:
                await ChangeAsync(context, async tx =>
                {
                    await gates.SetRemindAsync(tx, room.RoomId, remind.Lead, context.Sender, now);
                    foreach (var input in await subscriptions.ReminderInputsAsync(tx, room.RoomId))
                        await subscriptions.SetRemindAtAsync(tx, room.RoomId, input.UserId,
                            AccessRules.RemindAt(input.ExpiresAt, input.Period, remind.Lead, input.RemindersOff));
                    await AuditAsync(tx, context, room, "remind", remind.Lead == TimeSpan.Zero ? "off" : Quantities.FormatDuration(remind.Lead), now);
                    return Replies.RemindSet(room.Shown, remind.Lead);
                }, cancellationToken);
                await deadlines.ScheduleAtAsync(now, cancellationToken);
                break;
            case SellingCommand selling:
                await ChangeAsync(context, async tx =>
                {
                    await gates.SetEnabledAsync(tx, room.RoomId, selling.On, context.Sender, now);
                    await AuditAsync(tx, context, room, selling.On ? "on" : "off", null, now);
                    return Replies.SellingSet(room.Shown, selling.On, context.IsDirect ? "on " + room.Shown : Prefix + " on");
                }, cancellationToken);
                break;
            case GrantCommand grant:
                await GrantAsync(context, room, grant, now, cancellationToken);
                break;
            case RevokeCommand revoke:
                await RevokeAsync(context, room, revoke, now, cancellationToken);
                break;
            case ExemptCommand exempt:
                await ChangeAsync(context, async tx =>
                {
                    var changed = exempt.Exempt
                        ? await exemptions.AddAsync(tx, room.RoomId, exempt.UserId, context.Sender, now)
                        : await exemptions.RemoveAsync(tx, room.RoomId, exempt.UserId);
                    if (changed)
                        await AuditAsync(tx, context, room, exempt.Exempt ? "exempt" : "unexempt", exempt.UserId, now);
                    return Replies.ExemptSet(room.Shown, exempt.UserId, exempt.Exempt, changed);
                }, cancellationToken);
                break;
            case MembersCommand:
            {
                var members = await database.ReadAsync(tx => reports.MembersAsync(tx, room.RoomId), cancellationToken);
                await ReplyPrivatelyAsync(context, Replies.Members(room.Shown, members, MembersShown, now), "the member list", cancellationToken);
                break;
            }
            case StatsCommand:
            {
                var stats = await database.ReadAsync(tx => reports.StatsAsync(tx, room.RoomId, now), cancellationToken);
                await ReplyPrivatelyAsync(context, Replies.Stats(room.Shown, stats), "the figures", cancellationToken);
                break;
            }
            case ExportCommand:
                await ExportAsync(context, room, now, cancellationToken);
                break;
            case LogCommand:
            {
                var entries = await database.ReadAsync(tx => reports.LogAsync(tx, room.RoomId, LogShown), cancellationToken);
                await ReplyPrivatelyAsync(context, Replies.Log(room.Shown, entries, now), "the log", cancellationToken);
                break;
            }
            case ShowCommand:
                await ShowAsync(context, room, now, cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"no handler for {command.GetType().Name}");
        }
    }

    /// <summary>
    /// The room the command acts on (the one it was given in, or the one a DM names), if the sender owns it by the room's
    /// live state (DESIGN rule 6); null after replying why not. Every command but <c>set</c> and <c>show</c> needs the room gated.
    /// </summary>
    private async Task<OwnedRoom?> OwnedRoomAsync(CommandContext context, OwnerCommand command, CancellationToken cancellationToken)
    {
        if (context.IsDirect && command.Room is null)
        {
            await ReplyAsync(context, Replies.Invalid("In a direct message, name the room first."), cancellationToken);
            return null;
        }
        if (await ResolveRoomAsync(context, command.Room, cancellationToken) is not { } roomId)
            return null;
        if (await database.ReadAsync(tx => directRooms.PartnerAsync(tx, roomId), cancellationToken) is not null)
        {
            await ReplyAsync(context, Replies.DirectRoomNotGated(), cancellationToken);
            return null;
        }
        RoomPower power;
        try
        {
            power = await rooms.GetPowerAsync(roomId, cancellationToken);
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == System.Net.HttpStatusCode.NotFound)
        {
            await ReplyAsync(context, Replies.BotNotInRoom(command.Room ?? roomId), cancellationToken);
            return null;
        }
        if (!AccessRules.IsOwner(context.Sender, power, operatorOptions.Value.Operators) && command is ShowCommand)
        {
            // The price is no secret: anyone asking is shown what a member would see.
            var known = await database.ReadAsync(tx => gates.GetAsync(tx, roomId), cancellationToken);
            await ReplyAsync(context, Replies.PublicShow(command.Room ?? known?.RoomName ?? roomId, known, Prefix, context.IsDirect), cancellationToken);
            return null;
        }
        if (!AccessRules.IsOwner(context.Sender, power, operatorOptions.Value.Operators))
        {
            LogRefused(context.Sender, roomId);
            await ReplyAsync(context, Replies.NotOwner(Prefix, power.RequiredForState(Matrix.Events.EventTypes.PowerLevels), command.Room), cancellationToken);
            return null;
        }
        var gate = await database.ReadAsync(tx => gates.GetAsync(tx, roomId), cancellationToken);
        var shown = command.Room ?? gate?.RoomName ?? await rooms.DisplayNameAsync(roomId, cancellationToken);
        if (gate is null && command is not (SetPriceCommand or ShowCommand))
        {
            await ReplyAsync(context, Replies.NotGatedYet(shown, Prefix, context.IsDirect), cancellationToken);
            return null;
        }
        return new OwnedRoom(roomId, shown, power, gate);
    }

    /// <summary>One change: <paramref name="change"/> writes it (and its audit entry) and returns the reply, all in one transaction.</summary>
    private Task ChangeAsync(CommandContext context, Func<ITx, Task<Notice>> change, CancellationToken cancellationToken) =>
        CommitAsync(context, async tx => await ReplyInTxAsync(tx, context, await change(tx), time.GetUtcNow()), cancellationToken);

    private Task AuditAsync(ITx tx, CommandContext context, OwnedRoom room, string action, string? detail, DateTimeOffset now) =>
        audit.WriteAsync(tx, now, context.Sender, room.RoomId, action, detail);

    /// <summary>
    /// <c>set</c>. The first time a room is gated, everyone already joined becomes exempt (they were let in before there
    /// was a price); the reply says how many and how to undo it.
    /// </summary>
    private async Task SetPriceAsync(CommandContext context, OwnedRoom room, SetPriceCommand set, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var roomName = room.Gate?.RoomName ?? await rooms.DisplayNameAsync(room.RoomId, cancellationToken);
        var joined = room.Gate is null ? await rooms.JoinedAsync(room.RoomId, cancellationToken) : [];
        await ChangeAsync(context, async tx =>
        {
            var created = await gates.SetPriceAsync(tx, room.RoomId, roomName, set.Sats * 1000, set.Period, context.Sender, now);
            var exempted = 0;
            if (created)
            {
                foreach (var member in joined.Where(m => m != BotUserId))
                    exempted += await exemptions.AddAsync(tx, room.RoomId, member, context.Sender, now) ? 1 : 0;
            }
            await AuditAsync(tx, context, room, "set", Replies.PriceText(set.Sats, set.Period), now);
            return Replies.Gated(roomName, set.Sats, set.Period, BotPower.Of(BotUserId, room.Power), Prefix, created ? exempted : null);
        }, cancellationToken);
        LogGated(room.RoomId, set.Sats, set.Period, context.Sender);
    }

    /// <summary>
    /// <c>grant</c>: time from the later of now and the member's end (never further than
    /// <see cref="OrderLimits.MaxPaidAhead"/>); they are invited (if not in) and told.
    /// </summary>
    private async Task GrantAsync(CommandContext context, OwnedRoom room, GrantCommand grant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = await database.ReadAsync(tx => subscriptions.GetAsync(tx, room.RoomId, grant.UserId), cancellationToken);
        if (current is { IsActive: true, ExpiresAt: null })
        {
            await ReplyAsync(context, Replies.AlreadyLifetime(grant.UserId), cancellationToken);
            return;
        }
        if (AccessRules.Extend(current?.ExpiresAt, current is { IsActive: true }, grant.Length, now) is { } reach
            && reach > Instants.AddSaturating(now, OrderLimits.MaxPaidAhead))
        {
            await ReplyAsync(context, Replies.GrantTooFar(grant.UserId, reach), cancellationToken);
            return;
        }
        Term? term = null;
        await ChangeAsync(context, async tx =>
        {
            term = await terms.AddAsync(tx, room.Gate!, grant.UserId, SubscriptionSource.Grant, null, grant.Length, TimeSpan.Zero, MembershipCauses.Grant, now);
            await outbox.ToUserAsync(tx, grant.UserId, Replies.Granted(room.Gate!.RoomName, term.ExpiresAt, now), now);
            await AuditAsync(tx, context, room, "grant", $"{grant.UserId} {(grant.Length is { } l ? Quantities.FormatDuration(l) : "forever")}", now);
            return Replies.GrantDone(room.Shown, grant.UserId, term.ExpiresAt, now);
        }, cancellationToken);
        if (term is not null)
        {
            signals.Membership.Set();
            if (term.ExpiresAt is { } end)
                await deadlines.ScheduleAtAsync(term.RemindAt is { } remind && remind < end ? remind : end, cancellationToken);
        }
    }

    /// <summary><c>revoke</c>: the member's time ends now; they are removed unless protected, which the reply says.</summary>
    private async Task RevokeAsync(CommandContext context, OwnedRoom room, RevokeCommand revoke, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var exempt = await database.ReadAsync(tx => exemptions.IsExemptAsync(tx, room.RoomId, revoke.UserId), cancellationToken);
        var decision = AccessRules.MayRemove(revoke.UserId, BotUserId, room.Power, exempt, now, hasSubscription: true, TimeSpan.Zero, now);
        await ChangeAsync(context, async tx =>
        {
            var hadTime = await subscriptions.EndNowAsync(tx, room.RoomId, revoke.UserId, now);
            if (decision.Allowed)
                await memberships.EnqueueAsync(tx, room.RoomId, revoke.UserId, MembershipActionKind.Kick, null, MembershipCauses.Revoke, now);
            await AuditAsync(tx, context, room, "revoke", revoke.UserId, now);
            return Replies.Revoked(room.Shown, revoke.UserId, hadTime, decision.WhyNot);
        }, cancellationToken);
        signals.Membership.Set();
    }

    /// <summary><c>export</c>: the members as CSV (<see cref="Csv"/>), sent as a file to the owner's DM.</summary>
    private async Task ExportAsync(CommandContext context, OwnedRoom room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var members = await database.ReadAsync(tx => reports.MembersAsync(tx, room.RoomId), cancellationToken);
        var csv = Csv.Write(["user_id", "source", "plan", "started_at", "expires_at", "paid_sats_total", "last_payment_at"],
            members.Select(m => (IReadOnlyList<string?>)
            [
                m.UserId, m.Source, m.Plan, Iso(m.StartedAt), Iso(m.ExpiresAt),
                (m.PaidMsatTotal / 1000).ToString(CultureInfo.InvariantCulture), Iso(m.LastPaymentAt),
            ]));
        var fileName = $"members-{now.UtcDateTime:yyyy-MM-dd}.csv";
        var caption = $"Members of {room.Shown} ({members.Count})";
        var data = Encoding.UTF8.GetBytes(csv);
        await CommitAsync(context, async tx =>
        {
            if (context.IsDirect)
                await outbox.FileToRoomAsync(tx, context.RoomId, fileName, "text/csv", data, caption, now);
            else
            {
                await outbox.FileToUserAsync(tx, context.Sender, fileName, "text/csv", data, caption, now);
                await outbox.ToRoomAsync(tx, context.RoomId, Replies.SentPrivately("the export"), now, context.EventId);
            }
        }, cancellationToken);

        static string? Iso(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private async Task ShowAsync(CommandContext context, OwnedRoom room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = await rooms.SettingsAsync(room.RoomId, cancellationToken);
        var (plans, open) = await database.ReadAsync(async tx =>
            (await gates.GetPlansAsync(tx, room.RoomId), await alerts.ListOpenAsync(tx, room.RoomId)), cancellationToken);
        await ReplyAsync(context, Replies.Show(room.Shown, room.Gate, plans, BotPower.Of(BotUserId, room.Power), settings, open, Prefix, context.IsDirect, now),
            cancellationToken);
    }

    /// <summary>What names members' payments is for the owner's eyes: given in the room, it goes to their DM with a pointer.</summary>
    private async Task ReplyPrivatelyAsync(CommandContext context, Notice reply, string what, CancellationToken cancellationToken)
    {
        if (context.IsDirect)
        {
            await ReplyAsync(context, reply, cancellationToken);
            return;
        }
        await CommitAsync(context, async tx =>
        {
            var now = time.GetUtcNow();
            await outbox.ToUserAsync(tx, context.Sender, reply, now);
            await outbox.ToRoomAsync(tx, context.RoomId, Replies.SentPrivately(what), now, context.EventId);
        }, cancellationToken);
    }
}
