using System.Text.Json.Serialization;

namespace Doorman.Matrix.Events;

/// <summary>
/// <c>m.room.message</c> content the bot sends: <c>m.notice</c>/<c>m.text</c> with an HTML body, <c>m.image</c>, or
/// <c>m.file</c>. CS API §"m.room.message" msgtypes; §"Rich replies"; §"User and room mentions"; §"Media captions".
/// </summary>
public sealed record MessageContent
{
    [JsonPropertyName("msgtype")] public required string MsgType { get; init; }
    [JsonPropertyName("body")] public required string Body { get; init; }

    [JsonPropertyName("format"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Format { get; init; }

    [JsonPropertyName("formatted_body"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FormattedBody { get; init; }

    /// <summary>For <c>m.image</c> and <c>m.file</c>: the <c>mxc://</c> URI of the uploaded file.</summary>
    [JsonPropertyName("url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Url { get; init; }

    /// <summary>
    /// For <c>m.image</c> and <c>m.file</c> in an encrypted room, instead of <see cref="Url"/>: the uploaded
    /// ciphertext's URI with its key, IV and hash (CS API "Sending encrypted attachments", EncryptedFile).
    /// </summary>
    [JsonPropertyName("file"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? EncryptedFile { get; init; }

    [JsonPropertyName("info"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ImageInfo? Info { get; init; }

    /// <summary>
    /// For <c>m.file</c>: the uploaded file's name. CS API v1.10 §"Media captions": when it is present and differs
    /// from <see cref="Body"/>, the body is a caption; otherwise the body is the file name.
    /// </summary>
    [JsonPropertyName("filename"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FileName { get; init; }

    /// <summary>Always sent: an empty object says "this message mentions nobody", so a reply never pings by accident.</summary>
    [JsonPropertyName("m.mentions")]
    public Mentions Mentions { get; init; } = new();

    [JsonPropertyName("m.relates_to"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RelatesTo? RelatesTo { get; init; }

    public const string Notice = "m.notice";
    public const string Text = "m.text";
    public const string Image = "m.image";
    public const string File = "m.file";
    public const string HtmlFormat = "org.matrix.custom.html";
}

public sealed record Mentions
{
    [JsonPropertyName("user_ids"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? UserIds { get; init; }
}

public sealed record RelatesTo
{
    [JsonPropertyName("m.in_reply_to")] public InReplyTo? InReplyTo { get; init; }
}

public sealed record InReplyTo
{
    [JsonPropertyName("event_id")] public required string EventId { get; init; }
}

/// <summary>
/// CS API §"m.image" ImageInfo; without <see cref="Width"/> and <see cref="Height"/> it is §"m.file" FileInfo
/// (mimetype and size), so one type serves both.
/// </summary>
public sealed record ImageInfo
{
    [JsonPropertyName("mimetype")] public required string MimeType { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }

    [JsonPropertyName("w"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Width { get; init; }

    [JsonPropertyName("h"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Height { get; init; }
}
