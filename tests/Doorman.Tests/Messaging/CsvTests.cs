using Doorman.Messaging;

namespace Doorman.Tests.Messaging;

/// <summary>The export's CSV: RFC 4180 §2, and cells a spreadsheet would run as formulas opened as text.</summary>
public sealed class CsvTests
{
    private static readonly string[] Header = ["user", "note"];

    /// <summary>The line one cell makes, after a plain first cell, without the header.</summary>
    private static string LineOf(string? cell) => Csv.Write(Header, [["alice", cell]])["user,note\r\n".Length..];

    [Fact]
    public void Every_line_the_last_too_ends_in_CRLF() =>
        Assert.Equal("user,note\r\nalice,hello\r\nbob,bye\r\n", Csv.Write(Header, [["alice", "hello"], ["bob", "bye"]]));

    [Fact]
    public void No_rows_is_the_header_alone() => Assert.Equal("user,note\r\n", Csv.Write(Header, []));

    [Fact]
    public void A_null_cell_is_empty() => Assert.Equal("alice,\r\n", LineOf(null));

    [Fact]
    public void A_cell_with_a_comma_is_quoted() => Assert.Equal("alice,\"one, two\"\r\n", LineOf("one, two"));

    [Fact]
    public void A_double_quote_is_doubled_inside_quotes() => Assert.Equal("alice,\"say \"\"hi\"\"\"\r\n", LineOf("say \"hi\""));

    [Theory]
    [InlineData("two\r\nlines")]
    [InlineData("two\nlines")]
    [InlineData("carriage\rreturn")]
    public void A_line_break_inside_a_cell_is_kept_inside_quotes(string cell) => Assert.Equal($"alice,\"{cell}\"\r\n", LineOf(cell));

    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1+1", "'+1+1")]
    [InlineData("-1+1", "'-1+1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("-5", "'-5")]
    [InlineData("=1,2", "\"'=1,2\"")]
    public void A_cell_beginning_like_a_formula_gets_a_leading_apostrophe_before_quoting(string cell, string written) =>
        Assert.Equal($"alice,{written}\r\n", LineOf(cell));

    [Theory]
    [InlineData("a=b")]
    [InlineData("5")]
    [InlineData("x-@+")]
    public void Only_the_first_character_makes_a_formula(string cell) => Assert.Equal($"alice,{cell}\r\n", LineOf(cell));

    [Fact]
    public void A_Matrix_user_id_begins_with_at_and_so_is_written_as_text() =>
        Assert.Equal("'@alice:example.org,\r\n", Csv.Write(Header, [["@alice:example.org", null]])["user,note\r\n".Length..]);

    [Fact]
    public void The_header_follows_the_same_rules() =>
        Assert.Equal("\"a,b\",'=c\r\n", Csv.Write(["a,b", "=c"], []));
}
