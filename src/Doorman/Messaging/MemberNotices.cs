using Doorman.Access;
using Doorman.Storage;

namespace Doorman.Messaging;

/// <summary>The core's <see cref="IMemberNotices"/>: the wording of what members are told, queued in the decision's transaction.</summary>
public sealed class MemberNotices(MessageOutbox outbox, GateStore gates) : IMemberNotices
{
    public async Task UnderpaidAsync(ITx tx, Order order, long paidMsat, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, order.UserId, PaymentTexts.Underpaid(await RoomNameAsync(tx, order.RoomId), paidMsat, order.AmountMsat), now);

    public async Task InvoiceExpiredAsync(ITx tx, Order order, DateTimeOffset now)
    {
        // A reminder's invoice running out is no news: the member still has their time, or was told it ended.
        if (order.Origin == OrderOrigin.Reminder)
            return;
        var roomName = await RoomNameAsync(tx, order.RoomId);
        await outbox.ToUserAsync(tx, order.UserId,
            order.Origin == OrderOrigin.Knock ? PaymentTexts.KnockDeclined(roomName) : PaymentTexts.Expired(roomName), now);
    }

    public async Task PaidLateAsync(ITx tx, Order order, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, order.UserId, PaymentTexts.PaidLate(await RoomNameAsync(tx, order.RoomId)), now);

    public async Task ReminderAsync(ITx tx, DueSubscription due, Order? invoice, DateTimeOffset now)
    {
        var roomName = await RoomNameAsync(tx, due.RoomId);
        await outbox.ToUserAsync(tx, due.UserId, PaymentTexts.Reminder(roomName, due.ExpiresAt, due.Source, invoice, now), now);
        await InvoiceQrAsync(tx, due.UserId, invoice, now);
    }

    public async Task TimeEndedAsync(ITx tx, DueSubscription due, DateTimeOffset removalAt, Order? invoice, DateTimeOffset now)
    {
        var roomName = await RoomNameAsync(tx, due.RoomId);
        await outbox.ToUserAsync(tx, due.UserId, PaymentTexts.TimeEnded(roomName, due.Source, removalAt, invoice, now), now);
        await InvoiceQrAsync(tx, due.UserId, invoice, now);
    }

    private async Task InvoiceQrAsync(ITx tx, string userId, Order? invoice, DateTimeOffset now)
    {
        if (invoice is not null)
            await outbox.QrToUserAsync(tx, userId, PaymentTexts.QrData(invoice.Bolt11), PaymentTexts.QrCaption, now);
    }

    private async Task<string> RoomNameAsync(ITx tx, string roomId) => (await gates.GetAsync(tx, roomId))?.RoomName ?? roomId;
}

/// <summary>What members are told about their payments and their time.</summary>
public static class PaymentTexts
{
    public static Notice Underpaid(string roomName, long paidMsat, long amountMsat) =>
        new Notice().Text($"Your payment for {roomName} was {Quantities.FormatSats(paidMsat / 1000)}, less than the {Quantities.FormatSats(amountMsat / 1000)} asked, so it does not grant access. ")
            .Text("Please contact the room's owners about a refund, and say ").Code("join " + roomName).Text(" for a new invoice.");

    public static Notice Expired(string roomName) =>
        new Notice().Text($"Your invoice for {roomName} expired unpaid. Say ").Code("join " + roomName).Text(" whenever you want a new one.");

    public static Notice PaidLate(string roomName) =>
        new Notice().Text("Your payment for ").Bold(roomName).Text(" arrived late, after its invoice had expired — but it arrived, and it counts: ")
            .Text("you are in. Never mind my message that the invoice expired unpaid.");

    public static Notice KnockDeclined(string roomName) =>
        new Notice().Text($"Your knock on {roomName} was declined: its invoice expired unpaid. Knock again, or say ")
            .Code("join " + roomName).Text(", whenever you want a new one.");

    /// <summary>What a QR code of an invoice holds: the <c>lightning:</c> URI, upper case (QR's alphanumeric mode is denser).</summary>
    public static string QrData(string bolt11) => ("lightning:" + bolt11).ToUpperInvariant();

    public const string QrCaption = "Invoice QR code";

    public static Notice Reminder(string roomName, DateTimeOffset expiresAt, SubscriptionSource source, Order? invoice, DateTimeOffset now)
    {
        var notice = new Notice().Text(source == SubscriptionSource.Trial ? "Your free trial of " : "Your access to ").Bold(roomName)
            .Text($" ends {Quantities.FormatWhen(expiresAt, now)}. ");
        return Renewal(notice, roomName, invoice, now, "the new period starts when the current one ends.")
            .Line().Text("Say ").Code("reminders off " + roomName).Text(" if you'd rather not hear from me about this.");
    }

    public static Notice TimeEnded(string roomName, SubscriptionSource source, DateTimeOffset removalAt, Order? invoice, DateTimeOffset now)
    {
        var notice = new Notice().Text(source == SubscriptionSource.Trial ? "Your free trial of " : "Your time in ").Bold(roomName)
            .Text($" has ended. You can stay and renew until {Quantities.FormatWhen(removalAt, now)}; after that I will remove you. ");
        return Renewal(notice, roomName, invoice, now, "the new period counts from when your time ended.");
    }

    private static Notice Renewal(Notice notice, string roomName, Order? invoice, DateTimeOffset now, string whenItStarts)
    {
        if (invoice is null)
            return notice.Text("To keep it, say ").Code("renew " + roomName).Text(" here and pay the invoice; " + whenItStarts);
        return notice.Text($"To keep it, pay {Quantities.FormatSats(invoice.AmountMsat / 1000)} for ")
            .Text(invoice.Period is { } p ? Quantities.FormatDuration(p) : "lifetime access").Text(" with this Lightning invoice (" + whenItStarts + ")")
            .Block(invoice.Bolt11).Link("Open in your wallet", "lightning:" + invoice.Bolt11).Line()
            .Text($"It can be paid until {Quantities.FormatWhen(invoice.ExpiresAt, now)}. Another plan: ").Code("renew " + roomName + " <plan>").Text(".");
    }
}
