using System.Globalization;
using System.Text;
using CsCheck;

namespace Doorman.Tests.Commands;

/// <summary>
/// Generated message bodies for the command properties: real verbs and junk, with or without the prefix, numbers of
/// every size and sign, units, room aliases and ids well- and ill-formed, unicode, control characters and HTML.
/// </summary>
internal static class CommandBodies
{
    public const string Prefix = "!gate";

    private static Gen<string> Any(params Gen<string>[] gens) => Gen.OneOf<string>(gens);

    private static readonly Gen<string> Verb = Gen.OneOf("set", "show", "join", "renew", "status", "help",
        "SET", "Show", "JOIN", "rEnEw", "sets", "helpme", "frobnicate", "gate", "!gate", "per", "sats");

    private static readonly Gen<string> Number = Any(
        Gen.Long.Select(n => n.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[-10, 100_000].Select(n => n.ToString(CultureInfo.InvariantCulture)),
        Gen.Char['0', '9'].Array[12, 45].Select(digits => new string(digits)),
        Gen.Int[1, 999].Select(n => n.ToString("N0", CultureInfo.InvariantCulture) + ",000"),
        Gen.OneOf("0", "-0", "00", "1,000", "1_000", "1,0000", ",", "_", "1,,000", "21,000,000,00000000", "2100000000000000",
            "2100000000000001", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "0.1", ".5", "1e9",
            "+5", "0x10", "٣", "１２３", "½", "∞", "NaN", "1 000"));

    private static readonly Gen<string> Unit = Any(
        Gen.OneOf("sats", "sat", "SATS", "Sat", "satoshis", "msat", "btc", "per", "PER", "every", "d", "s", "30d", "90s", "15m",
            "12h", "2w", "0d", "1y", "30y", "5D", "1.5d", "-5d", "d30", "30 d", "99999999999999d", "999999999999w", "522w", "3653d", "3654d"),
        Gen.Select(Number, Gen.Char["smhdwySMHDWx"], (n, u) => n + u));

    private static readonly Gen<string> Localpart = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-_.=/"].Array[0, 12].Select(c => new string(c));

    private static readonly Gen<string> Room = Any(
        Gen.Select(Localpart, Gen.OneOf("localhost", "example.org", "matrix.org:8448", "[::1]", ""), (l, s) => $"#{l}:{s}"),
        Gen.Select(Localpart, Gen.OneOf("localhost", "example.org", ""), (l, s) => $"!{l}:{s}"),
        Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"].Array[43].Select(c => "!" + new string(c)),
        Gen.OneOf("#", "!", "#:", "!:", "#a:", "#:b", "#a", "!a", "##a:b", "#a:b:c", "#a%2Fb:c", "#a/b:c", "#a?b:c", "#a#b:c",
            "@user:localhost", "+group:localhost", "$event:localhost", "#" + new string('a', 300) + ":x", "#vip:localhost", "#free:localhost"));

    /// <summary>Any code point but a lone surrogate (a homeserver cannot deliver one in JSON it accepted).</summary>
    private static readonly Gen<string> CodePoint = Any(
        Gen.Int[0x20, 0x10FFFF].Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32),
        Gen.Int[0, 0x1F].Select(c => ((char)c).ToString()),
        Gen.OneOf("\u007F", "\u0085", "\u00A0", "\u200B", "\u200E", "\u202E", "\u2028", "\u3000", "\uFEFF", "\uFFFD", "é", "ß", "İ", "ǅ",
            "日本", "🙂", "👩‍👩‍👧", "“", "”", "\"", "'", "{", "}", "\\", "<", ">", "&"));

    private static readonly Gen<string> Word = Any(
        CodePoint.Array[1, 10].Select(string.Concat),
        Gen.Char['a', 'z'].Array[1, 10].Select(c => new string(c)),
        Gen.OneOf("<b>bold</b>", "<script>alert(1)</script>", "<a href=\"javascript:x\">x</a>", "&amp;", "&lt;", "</p>", "<!--",
            "{0}", "{amount}", "}{", "%s", "Exception", "null", "\u001B[31m", "\0"));

    private static readonly Gen<string> Token = Gen.Frequency(
        (3, (IGen<string>)Number), (3, Unit), (3, Room), (2, Verb), (3, Word));

    private static readonly Gen<string> Space = Gen.OneOf(" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u2003", "\u3000");

    private static readonly Gen<string> Edge = Gen.OneOf("", "", "", " ", "\n", "\t ", "\u00A0");

    private static readonly Gen<string> Prefixes = Gen.Frequency((4, ""), (4, Prefix), (1, "!GATE"), (1, "!gatex"), (1, "gate"), (1, "!"));

    /// <summary>Free-form: a verb and any tokens.</summary>
    private static readonly Gen<string[]> Anything = Gen.Select(Verb, Token.Array[0, 6], (verb, tokens) => (string[])[verb, .. tokens]);

    /// <summary>Shaped like <c>set 1000 sats per 30d</c>, each part usually right and sometimes anything.</summary>
    private static readonly Gen<string[]> SetShaped = Gen.Select(
        Gen.Frequency((4, (IGen<string>)Number), (1, Token)),
        Gen.Frequency((4, (IGen<string>)Gen.OneOf("sats", "sat", "SATS", "Sat")), (1, Token)),
        Gen.Frequency((4, (IGen<string>)Gen.OneOf("per", "PER", "Per")), (1, Token)),
        Gen.Frequency((4, (IGen<string>)Unit), (1, Token)),
        Token.Array[0, 1],
        (amount, sats, per, period, extra) => (string[])["set", amount, sats, per, period, .. extra]);

    /// <summary>Shaped like <c>join #room:server</c>.</summary>
    private static readonly Gen<string[]> RoomShaped = Gen.Select(Gen.OneOf("join", "renew", "Join", "RENEW"), Gen.Frequency((5, (IGen<string>)Room), (1, Token)).Array[0, 2],
        (verb, rooms) => (string[])[verb, .. rooms]);

    /// <summary>[space][prefix ]words [space], with the separators varied.</summary>
    public static readonly Gen<string> Body = Gen.Select(
        Prefixes, Gen.Frequency((3, (IGen<string[]>)Anything), (2, SetShaped), (2, RoomShaped)), Space.Array[8], Edge.Array[2],
        (prefix, words, spaces, edges) =>
        {
            var all = prefix.Length > 0 ? [prefix, .. words] : words;
            var text = new StringBuilder(edges[0]);
            for (var i = 0; i < all.Length; i++)
                text.Append(i == 0 ? "" : spaces[i % spaces.Length]).Append(all[i]);
            return text.Append(edges[1]).ToString();
        });

    /// <summary>
    /// A complete sentence: it starts with a capital letter or a quote mark, ends with '.', '?' or '!', and apart from
    /// what the member typed (which may be quoted back) holds no template brace and no exception text.
    /// </summary>
    public static void AssertCompleteSentence(string text, string body)
    {
        Assert.False(string.IsNullOrWhiteSpace(text), $"an empty text for {Show(body)}");
        Assert.True(char.IsUpper(text, 0) || text[0] is '“' or '"' or '‘' or '\'', $"{Show(text)} does not start like a sentence (body {Show(body)})");
        Assert.True(text[^1] is '.' or '?' or '!', $"{Show(text)} does not end like a sentence (body {Show(body)})");
        var own = body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .OrderByDescending(w => w.Length).Aggregate(text, (t, typed) => t.Replace(typed, "", StringComparison.Ordinal));
        Assert.False(own.Contains('{', StringComparison.Ordinal), $"{Show(text)} has a template brace (body {Show(body)})");
        Assert.False(own.Contains("Exception", StringComparison.Ordinal), $"{Show(text)} shows an exception (body {Show(body)})");
    }

    /// <summary>The text with control characters visible, for failure messages.</summary>
    public static string Show(string text) =>
        "\"" + string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString())) + "\"";
}
