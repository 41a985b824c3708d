using Doorman.Access;
using Doorman.Storage;

namespace Doorman.Messaging;

/// <summary>The core's <see cref="IMemberNotices"/>: the wording of what members are told, queued in the decision's transaction.</summary>
public sealed class MemberNotices(MessageOutbox outbox, GateStore gates) : IMemberNotices
{
    public async Task UnderpaidAsync(ITx tx, Order order, long paidMsat, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, order.UserId, PaymentTexts.Underpaid(await RoomNameAsync(tx, order.RoomId), paidMsat, order.AmountMsat), now);

    public async Task InvoiceExpiredAsync(ITx tx, Order order, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, order.UserId, PaymentTexts.Expired(await RoomNameAsync(tx, order.RoomId)), now);

    public async Task PaidLateAsync(ITx tx, Order order, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, order.UserId, PaymentTexts.PaidLate(await RoomNameAsync(tx, order.RoomId)), now);

    public async Task ReminderAsync(ITx tx, DueSubscription due, DateTimeOffset now) =>
        await outbox.ToUserAsync(tx, due.UserId, PaymentTexts.Reminder(await RoomNameAsync(tx, due.RoomId), due.ExpiresAt), now);

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

    public static Notice Reminder(string roomName, DateTimeOffset expiresAt) =>
        new Notice().Text("Your access to ").Bold(roomName).Text($" ends on {Quantities.FormatTime(expiresAt)}. To keep it, say ")
            .Code("renew " + roomName).Text(" here and pay the invoice; the new period starts when the current one ends.");
}
