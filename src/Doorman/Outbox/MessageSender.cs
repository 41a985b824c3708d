using System.Net;
using System.Text.Json;
using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Messaging;
using Doorman.Storage;

namespace Doorman.Outbox;

/// <summary>
/// Sends queued messages. Each destination (a room, or a user's DM) gets its messages strictly in order, one at
/// a time; destinations proceed independently, so a room that is rate-limited or failing does not hold up the
/// others. Each message keeps the transaction id it was queued with, so a resend is deduplicated by the server.
/// </summary>
public sealed partial class MessageSender(
    Database database,
    MessageStore store,
    MatrixClient matrix,
    BotCrypto crypto,
    DirectMessages directMessages,
    OutboxSignals signals,
    TimeProvider time,
    ILogger<MessageSender> logger) : PerKeyWorker<OutgoingMessage>(signals.Messages, time, logger)
{
    private const int MaxAttempts = 50;

    protected override string QueueName => "message";

    protected override Task<IReadOnlyList<OutgoingMessage>> DueAsync(int limit, CancellationToken stoppingToken) =>
        database.ReadAsync(tx => store.NextPerDestinationAsync(tx, Time.GetUtcNow(), limit), stoppingToken);

    protected override string KeyOf(OutgoingMessage message) => message.UserId ?? message.RoomId!;

    protected override Task RunAsync(OutgoingMessage message, CancellationToken cancellationToken) => SendAsync(message, cancellationToken);

    private async Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        string? roomId = message.RoomId;
        try
        {
            roomId ??= await directMessages.GetOrCreateAsync(message.UserId!, cancellationToken);
            // A resend after a crash uploads again (an unreferenced upload is harmless), but sends with the same
            // transaction id, so the room still gets one message.
            var encrypted = message.Kind != MessageKind.Message && await crypto.IsEncryptedAsync(roomId, cancellationToken);
            var content = message.Kind switch
            {
                MessageKind.Qr => await UploadQrAsync(message.Content, encrypted, cancellationToken),
                MessageKind.File => await UploadFileAsync(message.Content, encrypted, cancellationToken),
                _ => Parse(message.Content),
            };
            var eventId = await crypto.SendAsync(roomId, EventTypes.Message, message.TxnId, content, cancellationToken);
            await database.WriteAsync(tx => store.MarkSentAsync(tx, message.Id, eventId, Time.GetUtcNow()), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (MatrixException e) when (e.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound && message.UserId is not null && roomId is not null)
        {
            // The DM is gone (the member left it, or it was never joined): forget it, so the retry makes a new one.
            await directMessages.ForgetAsync(roomId, cancellationToken);
            await RetryOrGiveUpAsync(message, e.Message, cancellationToken);
        }
        catch (MatrixException e) when ((int)e.Status is >= 400 and < 500 and not 429 and not 408)
        {
            LogDropped(message.Id, roomId ?? message.UserId!, e.Message);
            await database.WriteAsync(tx => store.MarkFailedAsync(tx, message.Id, e.Message, Time.GetUtcNow()), cancellationToken);
        }
        catch (Exception e)
        {
            await RetryOrGiveUpAsync(message, e.Message, cancellationToken);
        }
    }

    private async Task RetryOrGiveUpAsync(OutgoingMessage message, string error, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (message.Attempts + 1 >= MaxAttempts)
        {
            LogDropped(message.Id, message.RoomId ?? message.UserId!, error);
            await database.WriteAsync(tx => store.MarkFailedAsync(tx, message.Id, error, now), cancellationToken);
            return;
        }
        var wait = RetryDelay(message.Attempts);
        LogRetrying(message.Id, message.RoomId ?? message.UserId!, wait, error);
        await database.WriteAsync(tx => store.RetryLaterAsync(tx, message.Id, error, now + wait, now), cancellationToken);
    }

    private async Task<JsonElement> UploadQrAsync(string payload, bool encrypted, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(payload);
        var data = doc.RootElement.GetProperty("data").GetString()!;
        var caption = doc.RootElement.GetProperty("body").GetString()!;
        var (png, size) = QrCodes.Render(data);
        var (uri, file) = await UploadAsync(png, "image/png", "invoice.png", encrypted, cancellationToken);
        return JsonSerializer.SerializeToElement(new MessageContent
        {
            MsgType = MessageContent.Image,
            Body = caption,
            Url = uri,
            EncryptedFile = file,
            Info = new ImageInfo { MimeType = "image/png", Size = png.Length, Width = size, Height = size },
        }, MatrixJson.MessageContent);
    }

    /// <summary>
    /// Uploads a file: as it is, giving its URI; or, for an encrypted room, its AES-CTR ciphertext, giving the
    /// <c>file</c> object that carries the URI and key inside the encrypted event (CS API "Sending encrypted
    /// attachments"). The ciphertext goes up as <c>application/octet-stream</c>, so the server learns nothing of it.
    /// </summary>
    private async Task<(string? Url, JsonElement? File)> UploadAsync(byte[] data, string mimeType, string fileName, bool encrypted,
        CancellationToken cancellationToken)
    {
        if (!encrypted)
            return (await matrix.UploadAsync(data, mimeType, fileName, cancellationToken), null);
        var (ciphertext, keys) = EncryptedAttachment.Encrypt(data);
        var uri = await matrix.UploadAsync(ciphertext, "application/octet-stream", fileName, cancellationToken);
        using var file = JsonDocument.Parse(EncryptedAttachment.FileObject(uri, keys).ToJsonString());
        return (null, file.RootElement.Clone());
    }

    private async Task<JsonElement> UploadFileAsync(string payload, bool encrypted, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(payload);
        var fileName = doc.RootElement.GetProperty("fileName").GetString()!;
        var mimeType = doc.RootElement.GetProperty("mimeType").GetString()!;
        var caption = doc.RootElement.GetProperty("body").GetString()!;
        var data = doc.RootElement.GetProperty("data").GetBytesFromBase64();
        var (uri, file) = await UploadAsync(data, mimeType, fileName, encrypted, cancellationToken);
        return JsonSerializer.SerializeToElement(new MessageContent
        {
            MsgType = MessageContent.File,
            // CS API v1.10 §"Media captions": the body is the file name, or a caption when filename says the name.
            Body = caption.Length > 0 ? caption : fileName,
            FileName = fileName,
            Url = uri,
            EncryptedFile = file,
            Info = new ImageInfo { MimeType = mimeType, Size = data.Length },
        }, MatrixJson.MessageContent);
    }

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    [LoggerMessage(LogLevel.Warning, "Message {Id} to {Destination} not sent ({Error}); retrying in {Wait}")]
    private partial void LogRetrying(long id, string destination, TimeSpan wait, string error);

    [LoggerMessage(LogLevel.Error, "Message {Id} to {Destination} cannot be sent and is dropped: {Error}")]
    private partial void LogDropped(long id, string destination, string error);
}
