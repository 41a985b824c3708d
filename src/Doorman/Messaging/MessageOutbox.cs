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
    /// <summary>
    /// The largest file <see cref="FileToRoomAsync"/> queues: 1 MiB. It is held in the outbox row (as base64) until sent;
    /// an export of thousands of members is far smaller.
    /// </summary>
    public const int MaxFileBytes = 1024 * 1024;

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

    /// <summary>
    /// A file (e.g. an export), uploaded when sending and sent as an <c>m.file</c> to a room. <paramref name="caption"/>
    /// is shown with it; empty for none.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> is over <see cref="MaxFileBytes"/>, or the name is blank.</exception>
    public Task FileToRoomAsync(ITx tx, string roomId, string fileName, string mimeType, byte[] data, string caption, DateTimeOffset now) =>
        store.EnqueueAsync(tx, roomId, null, MessageKind.File, FilePayload(fileName, mimeType, data, caption), now);

    /// <inheritdoc cref="FileToRoomAsync"/>
    public Task FileToUserAsync(ITx tx, string userId, string fileName, string mimeType, byte[] data, string caption, DateTimeOffset now) =>
        store.EnqueueAsync(tx, null, userId, MessageKind.File, FilePayload(fileName, mimeType, data, caption), now);

    /// <summary>Call after the transaction commits.</summary>
    public void Wake() => signals.Messages.Set();

    private static string Serialize(MessageContent content) => JsonSerializer.Serialize(content, MatrixJson.MessageContent);

    private static string QrPayload(string data, string caption) => new JsonObject { ["data"] = data, ["body"] = caption }.ToJsonString();

    private static string FilePayload(string fileName, string mimeType, byte[] data, string caption)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentException.ThrowIfNullOrWhiteSpace(mimeType);
        if (data.Length > MaxFileBytes)
            throw new ArgumentException($"the file {fileName} is {data.Length} bytes; at most {MaxFileBytes} are sent", nameof(data));
        return new JsonObject
        {
            ["fileName"] = fileName,
            ["mimeType"] = mimeType,
            ["body"] = caption,
            ["data"] = Convert.ToBase64String(data),
        }.ToJsonString();
    }
}
