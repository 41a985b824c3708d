using System.Net;
using System.Text;
using Doorman.Matrix.Events;

namespace Doorman.Messaging;

/// <summary>
/// Builds a message with a plain <c>body</c> and an HTML <c>formatted_body</c> from the same pieces, escaping
/// every string for HTML (user-supplied room names and ids included), so the two bodies never drift apart.
/// </summary>
public sealed class Notice
{
    private readonly StringBuilder _plain = new();
    private readonly StringBuilder _html = new();

    public Notice Text(string text)
    {
        _plain.Append(text);
        _html.Append(Escape(text));
        return this;
    }

    public Notice Bold(string text)
    {
        _plain.Append(text);
        _html.Append("<strong>").Append(Escape(text)).Append("</strong>");
        return this;
    }

    /// <summary>Inline code: commands the reader should type.</summary>
    public Notice Code(string text)
    {
        _plain.Append(text);
        _html.Append("<code>").Append(Escape(text)).Append("</code>");
        return this;
    }

    /// <summary>A block of code on its own lines: invoices to copy whole.</summary>
    public Notice Block(string text)
    {
        _plain.Append('\n').Append(text).Append('\n');
        _html.Append("<pre><code>").Append(Escape(text)).Append("</code></pre>");
        return this;
    }

    public Notice Link(string text, string href)
    {
        _plain.Append(text == href ? href : $"{text} ({href})");
        _html.Append("<a href=\"").Append(Escape(href)).Append("\">").Append(Escape(text)).Append("</a>");
        return this;
    }

    public Notice Line()
    {
        _plain.Append('\n');
        _html.Append("<br>");
        return this;
    }

    public Notice Paragraph()
    {
        _plain.Append("\n\n");
        _html.Append("<br><br>");
        return this;
    }

    public string PlainText => _plain.ToString().Trim();

    /// <param name="inReplyTo">Makes the message a reply to that event (CS API §"Rich replies").</param>
    public MessageContent ToContent(string msgType = MessageContent.Notice, string? inReplyTo = null) => new()
    {
        MsgType = msgType,
        Body = PlainText,
        Format = MessageContent.HtmlFormat,
        FormattedBody = _html.ToString(),
        RelatesTo = inReplyTo is null ? null : new RelatesTo { InReplyTo = new InReplyTo { EventId = inReplyTo } },
    };

    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    public override string ToString() => PlainText;
}
