using System.Text;

namespace Doorman.Messaging;

/// <summary>Comma-separated values for the files the bot sends owners (the member export).</summary>
public static class Csv
{
    /// <summary>
    /// The header line, then one line per row; a null cell is empty. RFC 4180 §2: every line, the last included, ends
    /// in CRLF (rule 1); a field holding a comma, a double quote, CR or LF is enclosed in double quotes (rule 6), and a
    /// double quote inside it is doubled (rule 7). A cell a spreadsheet would read as a formula (it begins with
    /// <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c>; member-chosen names can) gets a leading <c>'</c> first, so it opens
    /// as text; a negative number like <c>-5</c> does too, and reads as text.
    /// </summary>
    public static string Write(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var text = new StringBuilder();
        WriteLine(text, header);
        foreach (var row in rows)
            WriteLine(text, row);
        return text.ToString();
    }

    private static void WriteLine(StringBuilder text, IReadOnlyList<string?> cells)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0)
                text.Append(',');
            WriteCell(text, cells[i] ?? "");
        }
        text.Append("\r\n");
    }

    private static void WriteCell(StringBuilder text, string cell)
    {
        if (cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@')
            cell = "'" + cell;
        if (cell.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            text.Append(cell);
            return;
        }
        text.Append('"').Append(cell.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
