using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Access;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Storage;

namespace Doorman.Messaging;

/// <summary>Queues messages inside the caller's transaction; <c>Outbox.MessageSender</c> sends them after commit.</summary>
public sealed class MessageOutbox(MessageStore store, OutboxSignals signals)
{
    /// <param name="inReplyTo">The command this answers: the message is sent as a reply to it.</param>
    public Task ToRoomAsync(ITx tx, string roomId, Notice notice, DateTimeOffset now, string? inReplyTo = null) =>
        store.EnqueueAsync(tx, roomId, null, MessageKind.Message, Serialize(notice.ToContent(inReplyTo: inReplyTo)), now);

    /// <summary>To the user's DM with the bot, made when sending if there is none yet.</summary>
    public Task ToUserAsync(ITx tx, string userId, Notice notice, DateTimeOffset now) =>
        store.EnqueueAsync(tx, null, userId, MessageKind.Message, Serialize(notice.ToContent()), now);

    /// <summary>A QR code image of <paramref name="data"/> (e.g. a <c>lightning:</c> URI), to a room.</summary>
    public Task QrToRoomAsync(ITx tx, string roomId, string data, string caption, DateTimeOffset now) =>
        store.EnqueueAsync(tx, roomId, null, MessageKind.Qr, QrPayload(data, caption), now);

    public Task QrToUserAsync(ITx tx, string userId, string data, string caption, DateTimeOffset now) =>
        store.EnqueueAsync(tx, null, userId, MessageKind.Qr, QrPayload(data, caption), now);

    /// <summary>Call after the transaction commits.</summary>
    public void Wake() => signals.Messages.Set();

    private static string Serialize(MessageContent content) => JsonSerializer.Serialize(content, MatrixJson.MessageContent);

    private static string QrPayload(string data, string caption) => new JsonObject { ["data"] = data, ["body"] = caption }.ToJsonString();
}
