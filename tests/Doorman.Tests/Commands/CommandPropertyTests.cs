using CsCheck;
using Doorman.Commands;

namespace Doorman.Tests.Commands;

/// <summary>Properties of <see cref="CommandParser"/> over generated bodies (<see cref="CommandBodies"/>).</summary>
public sealed class CommandPropertyTests
{
    [Fact]
    public void Parsing_never_throws_and_every_problem_is_a_complete_sentence() =>
        Gen.Select(CommandBodies.Body, Gen.Bool).Sample((body, isDirect) =>
        {
            var command = CommandParser.Parse(body, CommandBodies.Prefix, isDirect);
            if (command is InvalidCommand invalid)
                CommandBodies.AssertCompleteSentence(invalid.Problem, body);
            // In a group room, only text that starts with the prefix is ours.
            if (!isDirect && !body.TrimStart().StartsWith(CommandBodies.Prefix, StringComparison.OrdinalIgnoreCase))
                Assert.Null(command);
        }, iter: 10_000, print: pair => CommandBodies.Show(pair.Item1) + (pair.Item2 ? " in a DM" : " in a room"));

    /// <summary>What the property found: these problems did not read as sentences.</summary>
    [Theory]
    [InlineData("show #vip:example.org 0x10", true, "“show” takes no arguments: say show #room:server.")]
    [InlineData("!gate status now", false, "“status” takes no arguments: say !gate status.")]
    [InlineData("!gate set 3954739750593876801803235954115584220382854 sats per 1d", false,
        "“3954739750593876801803235954115584220382854” sats is more than 21 million bitcoin (2,100,000,000,000,000 sats). Write it as !gate set <amount> sats per <duration>, e.g. !gate set 1000 sats per 30d.")]
    [InlineData("set #vip:example.org 5 sats per 99999999999999d", true,
        "“99999999999999d” is longer than the longest period, 3,653 days. Write it as set #room:server <amount> sats per <duration>, e.g. set #room:example.org 1000 sats per 30d.")]
    [InlineData("show 0x10", true, "In a direct message, name the room first. Write it as show #room:server.")]
    public void Problems_found_by_the_property_now_read_as_sentences(string body, bool isDirect, string problem) =>
        Assert.Equal(new InvalidCommand(problem), CommandParser.Parse(body, CommandBodies.Prefix, isDirect));
}
