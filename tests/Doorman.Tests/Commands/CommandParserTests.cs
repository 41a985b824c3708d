using Doorman.Commands;

namespace Doorman.Tests.Commands;

public sealed class CommandParserTests
{
    private static Command? Room(string body) => CommandParser.Parse(body, "!gate", isDirect: false);

    private static Command? Dm(string body) => CommandParser.Parse(body, "!gate", isDirect: true);

    [Fact]
    public void Set_reads_amount_and_period() =>
        Assert.Equal(new SetPriceCommand(1000, TimeSpan.FromDays(30)), Room("!gate set 1000 sats per 30d"));

    [Fact]
    public void The_prefix_and_verbs_ignore_case_and_spacing() =>
        Assert.Equal(new SetPriceCommand(1, TimeSpan.FromSeconds(90)), Room("  !GATE   Set 1 sat PER 90s "));

    [Fact]
    public void Text_without_the_prefix_in_a_room_is_not_for_us()
    {
        Assert.Null(Room("set 1000 sats per 30d"));
        Assert.Null(Room("hello everyone"));
        Assert.Null(Room("!gatekeeper set 5 sats per 1d"));
    }

    [Fact]
    public void In_a_DM_the_prefix_is_optional()
    {
        Assert.Equal(new JoinCommand("#vip:example.org"), Dm("join #vip:example.org"));
        Assert.Equal(new JoinCommand("#vip:example.org"), Dm("!gate join #vip:example.org"));
        Assert.Equal(new StatusCommand(), Dm("status"));
        Assert.Equal(new HelpCommand(), Dm("help"));
    }

    [Fact]
    public void The_bare_prefix_asks_for_help() => Assert.Equal(new HelpCommand(), Room("!gate"));

    [Theory]
    [InlineData("!gate set 1000 per 30d", "could not read that price")]
    [InlineData("!gate set sats per 30d", "could not read that price")]
    [InlineData("!gate set 0 sats per 30d", "at least 1 sat")]
    [InlineData("!gate set -1000 sats per 30d", "negative")]
    [InlineData("!gate set 1000 sats per 0d", "longer than zero")]
    [InlineData("!gate set 1000 sats per month", "not a duration")]
    [InlineData("!gate set 99999999999999999 sats per 30d", "21 million bitcoin")]
    [InlineData("!gate show everything", "takes no arguments")]
    [InlineData("!gate frobnicate", "don't know “frobnicate”")]
    [InlineData("!gate join a b", "takes one room")]
    [InlineData("!gate join #vip", "not a room alias or id")]
    [InlineData("!gate join Gold!", "not a plan name")]
    [InlineData("!gate join gold extra", "at most one plan")]
    public void Malformed_commands_get_a_reason_and_the_right_form(string body, string problem)
    {
        var invalid = Assert.IsType<InvalidCommand>(Room(body));
        Assert.Contains(problem, invalid.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_hints_in_a_DM_leave_out_the_prefix()
    {
        var invalid = Assert.IsType<InvalidCommand>(Dm("join"));
        Assert.Contains("join #room:server", invalid.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("!gate", invalid.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Join_in_a_room_without_an_argument_means_that_room() => Assert.Equal(new JoinCommand(null), Room("!gate join"));

    [Fact]
    public void Unknown_words_in_a_DM_get_help()
    {
        var invalid = Assert.IsType<InvalidCommand>(Dm("hello there"));
        Assert.Contains("help", invalid.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("#vip:example.org", true)]
    [InlineData("!abc123:example.org", true)]
    [InlineData("!Xj3kLmNo_-pQ", true)] // room version 12: no server part
    [InlineData("#vip", false)]
    [InlineData("#:example.org", false)]
    [InlineData("vip:example.org", false)]
    [InlineData("@alice:example.org", false)]
    [InlineData("!", false)]
    public void Room_references_are_aliases_or_ids(string text, bool valid) => Assert.Equal(valid, CommandParser.IsRoomReference(text));
}
