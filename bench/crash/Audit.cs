using System.Text.Json;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Lightning;
using System.Data.Common;

namespace Doorman.Crash;

/// <summary>What the audit counted, and every breach of the rules it found (empty: all hold).</summary>
internal sealed record AuditResult(
    int InvoicesSettled,
    int OrdersApplied,
    int Invites,
    int Kicks,
    int ReceiptsInDms,
    int PendingOutboxRows,
    int QuarantinedInboxItems,
    IReadOnlyList<string> Breaches);

/// <summary>
/// After the run, with the bot stopped: the node's invoices, the homeserver's timelines and the bot's database (the
/// SQLite file opened read-only, or the PostgreSQL database; tables in src/Doorman/Storage/Migrations/) must agree that every settled invoice was applied
/// exactly once, every payer was invited exactly once per room and told once per payment, nobody unpaid was
/// invited, nobody was removed, and no invite, kick, message or inbox item is left pending.
/// </summary>
internal static class Audit
{
    public static AuditResult Run(SandboxHomeserver homeserver, SandboxLightningNode lightning, DbConnection db, string botUserId,
        IReadOnlyList<GatedRoom> rooms, IReadOnlyList<Member> members, Load load)
    {
        var breaches = new List<string>();
        // Hashes are hex; compared without regard to case, whoever wrote them.
        var settled = lightning.Invoices.Where(i => i.State == SandboxInvoiceState.Settled).ToDictionary(i => i.PaymentHash, StringComparer.OrdinalIgnoreCase);
        var paidByHarness = new HashSet<string>(load.Paid.Keys, StringComparer.OrdinalIgnoreCase);
        foreach (var hash in settled.Keys.Where(h => !paidByHarness.Contains(h)))
            breaches.Add($"invoice {hash} settled at the node but the harness never paid it");
        foreach (var hash in paidByHarness.Where(h => !settled.ContainsKey(h)))
            breaches.Add($"invoice {hash} paid by the harness but not settled at the node");
        foreach (var hash in load.ControlInvoices.Keys.Where(settled.ContainsKey))
            breaches.Add($"a control's invoice {hash} is settled");

        // Orders: one per settled invoice, applied, paid in full; nothing applied that was not paid.
        var orders = Rows(db, "SELECT payment_hash, user_id, room_id, status, amount_msat, paid_msat, period_seconds, applied_at FROM orders")
            .Select(r => (Hash: (string)r[0]!, User: (string)r[1]!, Room: (string)r[2]!, Status: (string)r[3]!, Amount: (long)r[4]!,
                Paid: r[5] as long?, Period: r[6] as long?, AppliedAt: r[7] as long?)).ToList();
        foreach (var group in orders.GroupBy(o => o.Hash, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            breaches.Add($"{group.Count()} orders for payment hash {group.Key}");
        var byHash = orders.GroupBy(o => o.Hash, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        foreach (var (hash, invoice) in settled)
        {
            if (!byHash.TryGetValue(hash, out var order))
                breaches.Add($"settled invoice {hash} has no order");
            else if (order.Status != "applied")
                breaches.Add($"settled invoice {hash}: order is {order.Status}, not applied");
            else if (order.Paid != invoice.AmountPaidMsat)
                breaches.Add($"settled invoice {hash}: order records {order.Paid} msat paid, the node {invoice.AmountPaidMsat}");
        }
        var applied = orders.Where(o => o.Status == "applied").ToList();
        foreach (var order in applied.Where(o => !settled.ContainsKey(o.Hash)))
            breaches.Add($"order for {order.Hash} applied without a settled invoice");

        // Subscriptions: each paid period added once. Every end was in the future when each payment came, so the end is
        // the first payment's time plus one period per payment; an order applied twice would show as a period too many.
        var subscriptions = Rows(db, "SELECT room_id, user_id, expires_at, expired_at FROM subscriptions")
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (ExpiresAt: r[2] as long?, ExpiredAt: r[3] as long?));
        foreach (var group in applied.GroupBy(o => (o.Room, o.User)))
        {
            var expected = group.Min(o => o.AppliedAt!.Value) + group.Sum(o => o.Period!.Value * 1000);
            if (!subscriptions.TryGetValue(group.Key, out var sub))
                breaches.Add($"{group.Key.User} paid {group.Count()} times for {group.Key.Room} and has no subscription");
            else if (sub.ExpiresAt != expected)
                breaches.Add($"{group.Key.User} in {group.Key.Room}: {group.Count()} payments, subscription ends at {sub.ExpiresAt}, expected {expected}");
            else if (sub.ExpiredAt is not null)
                breaches.Add($"{group.Key.User} in {group.Key.Room}: subscription marked expired");
        }

        // Invite actions: one per applied order (an order applied twice would queue two), all finished.
        var inviteActions = Rows(db, "SELECT room_id, user_id, cause, status FROM membership_actions WHERE action = 'invite'")
            .Select(r => (Room: (string)r[0]!, User: (string)r[1]!, Cause: (string)r[2]!, Status: (string)r[3]!)).ToList();
        foreach (var group in inviteActions.GroupBy(a => a.Cause).Where(g => g.Count() > 1))
            breaches.Add($"{group.Count()} invite actions for {group.Key}");
        if (inviteActions.Count != applied.Count)
            breaches.Add($"{inviteActions.Count} invite actions for {applied.Count} applied orders");
        foreach (var action in inviteActions.Where(a => a.Status != "done"))
            breaches.Add($"invite of {action.User} to {action.Room} ({action.Cause}) is {action.Status}");
        var kickActions = Scalar(db, "SELECT COUNT(*) FROM membership_actions WHERE action = 'kick'");
        if (kickActions > 0)
            breaches.Add($"{kickActions} kick actions queued");

        // Outbox and inbox: nothing left pending, nothing given up.
        var pendingMessages = Scalar(db, "SELECT COUNT(*) FROM outgoing_messages WHERE status <> 'sent'");
        var pendingActions = Scalar(db, "SELECT COUNT(*) FROM membership_actions WHERE status IN ('pending', 'awaiting_power', 'failed')");
        var pendingInbox = Scalar(db, "SELECT COUNT(*) FROM inbox WHERE status = 'pending'");
        var quarantined = Scalar(db, "SELECT COUNT(*) FROM inbox WHERE status = 'quarantined'");
        if (pendingMessages > 0)
            breaches.Add($"{pendingMessages} outgoing messages not sent: "
                + string.Join("; ", Rows(db, "SELECT status, attempts, last_error FROM outgoing_messages WHERE status <> 'sent' LIMIT 5")
                    .Select(r => $"{r[0]} after {r[1]} attempts ({r[2]})")));
        if (pendingActions > 0)
            breaches.Add($"{pendingActions} membership actions pending, awaiting power or failed");
        if (pendingInbox > 0)
            breaches.Add($"{pendingInbox} inbox items pending");
        if (quarantined > 0)
            breaches.Add($"{quarantined} inbox items quarantined: "
                + string.Join("; ", Rows(db, "SELECT kind, attempts, last_error FROM inbox WHERE status = 'quarantined' LIMIT 5")
                    .Select(r => $"{r[0]} after {r[1]} attempts ({r[2]})")));

        // The homeserver: invites and removals by the bot, per room and member.
        var payers = load.Paid.Values.Select(p => (p.RoomId, p.UserId)).ToHashSet();
        var invites = 0;
        var kicks = 0;
        foreach (var room in rooms)
        {
            var timeline = homeserver.GetTimeline(room.RoomId);
            var byBot = timeline.Where(e => Str(e, "type") == "m.room.member" && Str(e, "sender") == botUserId && Str(e, "state_key") != botUserId)
                .Select(e => (User: Str(e, "state_key")!, Membership: e.GetProperty("content").TryGetProperty("membership", out var m) ? m.GetString() : null))
                .ToList();
            foreach (var member in members)
            {
                var user = member.Player.UserId;
                var invited = byBot.Count(e => e.User == user && e.Membership == "invite");
                invites += invited;
                var paid = payers.Contains((room.RoomId, user));
                if (paid && invited != 1)
                    breaches.Add($"{user} paid for {room.Alias} and was invited {invited} times");
                if (!paid && invited > 0)
                    breaches.Add($"{user} never paid for {room.Alias} and was invited {invited} times");
                var membership = homeserver.GetMembership(room.RoomId, user);
                if (paid && membership != "join")
                    breaches.Add($"{user} paid for {room.Alias} and is '{membership ?? "none"}' there");
                if (!paid && membership is not null)
                    breaches.Add($"{user} never paid for {room.Alias} and is '{membership}' there");
            }
            var removed = byBot.Count(e => e.Membership is "leave" or "ban");
            kicks += removed;
            if (removed > 0)
                breaches.Add($"the bot removed {removed} members from {room.Alias}");
        }

        // Each member's DM: one receipt ("Payment received", src/Doorman/Outbox/MembershipTexts.cs) per applied payment.
        var receipts = 0;
        foreach (var member in members)
        {
            var got = homeserver.GetTimeline(member.DirectRoom).Count(e => Str(e, "type") == "m.room.message" && Str(e, "sender") == botUserId
                && e.GetProperty("content").TryGetProperty("body", out var body) && body.GetString()?.Contains("Payment received", StringComparison.Ordinal) == true);
            receipts += got;
            var expected = applied.Count(o => o.User == member.Player.UserId);
            if (got != expected)
                breaches.Add($"{member.Player.UserId}: {got} receipts in the DM for {expected} applied payments");
        }

        return new AuditResult(settled.Count, applied.Count, invites, kicks, receipts, (int)(pendingMessages + pendingActions + pendingInbox),
            (int)quarantined, breaches);
    }

    private static string? Str(JsonElement e, string property) =>
        e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long Scalar(DbConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<object?[]> Rows(DbConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }
}
