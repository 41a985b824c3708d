using Doorman.Access;

namespace Doorman.Commands;

// Members' commands beyond join and renew: plans, the free trial, reminders (docs/members.md).
public sealed partial class CommandHandler
{
    private Task<IReadOnlyList<Plan>> PlansOfAsync(string roomId, CancellationToken cancellationToken) =>
        database.ReadAsync(tx => gates.GetPlansAsync(tx, roomId), cancellationToken);

    /// <summary><c>plans &lt;room&gt;</c>: the room's plans, its trial, and where the member stands.</summary>
    private async Task PlansAsync(CommandContext context, string? roomReference, CancellationToken cancellationToken)
    {
        if (await ResolveRoomAsync(context, roomReference, cancellationToken) is not { } roomId)
            return;
        var (gate, plans, subscription, tookTrial, paid) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, roomId), await gates.GetPlansAsync(tx, roomId), await subscriptions.GetAsync(tx, roomId, context.Sender),
             await subscriptions.TookTrialAsync(tx, roomId, context.Sender), await orders.HasPaidAsync(tx, roomId, context.Sender)), cancellationToken);
        if (gate is null)
        {
            await ReplyAsync(context, Replies.NotGated(roomReference ?? roomId), cancellationToken);
            return;
        }
        var now = time.GetUtcNow();
        var trial = AccessRules.MayStartTrial(gate, tookTrial, paid, subscription, now);
        await ReplyAsync(context, Replies.Plans(gate, plans, subscription, trial, now), cancellationToken);
    }

    /// <summary>
    /// <c>join &lt;room&gt; trial</c>: the free trial, once per person per room and never for anyone who has paid for it;
    /// the member is invited at once and told when it ends.
    /// </summary>
    private async Task TrialAsync(CommandContext context, string? roomReference, CancellationToken cancellationToken)
    {
        if (await ResolveRoomAsync(context, roomReference, cancellationToken) is not { } roomId)
            return;
        var (gate, subscription, tookTrial, paid) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, roomId), await subscriptions.GetAsync(tx, roomId, context.Sender),
             await subscriptions.TookTrialAsync(tx, roomId, context.Sender), await orders.HasPaidAsync(tx, roomId, context.Sender)), cancellationToken);
        var shown = roomReference ?? gate?.RoomName ?? roomId;
        if (gate is null)
        {
            await ReplyAsync(context, Replies.NotGated(shown), cancellationToken);
            return;
        }
        if (!gate.Enabled)
        {
            await ReplyAsync(context, Replies.Paused(shown), cancellationToken);
            return;
        }
        var now = time.GetUtcNow();
        if (AccessRules.MayStartTrial(gate, tookTrial, paid, subscription, now) is { } refusal)
        {
            await ReplyAsync(context, Replies.NoTrial(shown, refusal, Prefix, context.IsDirect), cancellationToken);
            return;
        }
        // As for a paid order: nobody is promised an invite the room would refuse.
        var facts = await roomFacts.ForOrderAsync(roomId, context.Sender, cancellationToken);
        if (OrderLimits.RoomRefusal(facts) is { } roomRefusal)
        {
            await ReplyAsync(context, roomRefusal switch
            {
                OrderRefusal.Banned => Replies.Banned(shown),
                OrderRefusal.BotCannotInvite => Replies.BotCannotInvite(shown, facts?.BotLevel ?? 0, facts?.InviteLevel ?? 0, Prefix),
                _ => Replies.BotNotInRoom(shown),
            }, cancellationToken);
            return;
        }

        Term? term = null;
        await CommitAsync(context, async tx =>
        {
            if (!await subscriptions.RecordTrialAsync(tx, roomId, context.Sender, now))
            {
                await ReplyInTxAsync(tx, context, Replies.NoTrial(shown, TrialRefusal.TakenBefore, Prefix, context.IsDirect), now);
                return;
            }
            term = await terms.AddAsync(tx, gate, context.Sender, SubscriptionSource.Trial, null, gate.Trial, TimeSpan.Zero, MembershipCauses.Trial, now);
            await ReplyInTxAsync(tx, context, Replies.TrialStarted(shown, term.ExpiresAt!.Value, now), now);
        }, cancellationToken);
        if (term?.ExpiresAt is { } end)
        {
            signals.Membership.Set();
            await deadlines.ScheduleAtAsync(term.RemindAt is { } remind && remind < end ? remind : end, cancellationToken);
        }
    }

    /// <summary><c>reminders off|on &lt;room&gt;</c>: the member's own choice, kept across renewals.</summary>
    private async Task RemindersAsync(CommandContext context, RemindersCommand command, CancellationToken cancellationToken)
    {
        if (await ResolveRoomAsync(context, command.Room, cancellationToken) is not { } roomId)
            return;
        var now = time.GetUtcNow();
        var (gate, input) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, roomId), (await subscriptions.ReminderInputsAsync(tx, roomId)).FirstOrDefault(i => i.UserId == context.Sender)),
            cancellationToken);
        var shown = command.Room ?? gate?.RoomName ?? roomId;
        var remindAt = input is null ? null : AccessRules.RemindAt(input.ExpiresAt, input.Period, gate?.RemindLead, remindersOff: !command.On);
        var changed = false;
        await CommitAsync(context, async tx =>
        {
            changed = await subscriptions.SetRemindersAsync(tx, roomId, context.Sender, !command.On, remindAt, now);
            await ReplyInTxAsync(tx, context, changed ? Replies.RemindersSet(shown, command.On) : Replies.NoSubscription(shown, Prefix, context.IsDirect), now);
        }, cancellationToken);
        if (changed && remindAt is { } at)
            await deadlines.ScheduleAtAsync(at, cancellationToken);
    }
}
