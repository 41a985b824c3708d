using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// Canonical JSON (spec appendix "Canonical JSON"): UTF-8, no insignificant whitespace, object keys sorted by
/// Unicode code point, integers only (no fractions or exponents, within ±(2^53 − 1)), and strings escaped only
/// where JSON requires it. It is what every Matrix signature covers, so one byte of difference from what the
/// other side computes is a failed signature.
/// </summary>
public static class CanonicalJson
{
    private const long MaxSafeInteger = 9007199254740991;

    public static byte[] Encode(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static string EncodeToString(JsonNode? node) => Encoding.UTF8.GetString(Encode(node));

    private static void Write(StringBuilder text, JsonNode? node)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                text.Append('{');
                var first = true;
                foreach (var (key, value) in obj.OrderBy(p => p.Key, CodePointComparer.Instance))
                {
                    if (!first)
                        text.Append(',');
                    first = false;
                    WriteString(text, key);
                    text.Append(':');
                    Write(text, value);
                }
                text.Append('}');
                break;
            case JsonArray array:
                text.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                        text.Append(',');
                    Write(text, array[i]);
                }
                text.Append(']');
                break;
            default:
                WriteValue(text, node.AsValue());
                break;
        }
    }

    private static void WriteValue(StringBuilder text, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(text, value.GetValue<string>());
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            case JsonValueKind.Null:
                text.Append("null");
                break;
            case JsonValueKind.Number:
                text.Append(Integer(value).ToString(CultureInfo.InvariantCulture));
                break;
            default:
                throw new FormatException($"A {value.GetValueKind()} value cannot be written as canonical JSON.");
        }
    }

    private static long Integer(JsonValue value)
    {
        long number;
        if (value.TryGetValue(out long l))
            number = l;
        else if (value.TryGetValue(out int i))
            number = i;
        else if (value.TryGetValue(out JsonElement element) && element.TryGetInt64(out var parsed))
            number = parsed;
        else if (value.TryGetValue(out double d) && Math.Floor(d) == d && Math.Abs(d) <= MaxSafeInteger)
            number = (long)d;
        else
            throw new FormatException("Canonical JSON allows integers only.");
        if (Math.Abs(number) > MaxSafeInteger)
            throw new FormatException("Canonical JSON allows integers within ±(2^53 − 1) only.");
        return number;
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }

    /// <summary>Orders strings by Unicode code point, which UTF-16 ordinal order is not above U+FFFF.</summary>
    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var left = (x ?? "").EnumerateRunes();
            var right = (y ?? "").EnumerateRunes();
            while (true)
            {
                var hasLeft = left.MoveNext();
                var hasRight = right.MoveNext();
                if (!hasLeft || !hasRight)
                    return hasLeft.CompareTo(hasRight);
                var order = left.Current.Value.CompareTo(right.Current.Value);
                if (order != 0)
                    return order;
            }
        }
    }
}
