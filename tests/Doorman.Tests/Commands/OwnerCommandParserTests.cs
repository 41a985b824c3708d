using Doorman.Commands;

namespace Doorman.Tests.Commands;

/// <summary>Every form of the owners' and members' commands (docs/owners.md, docs/members.md), good and bad.</summary>
public sealed class OwnerCommandParserTests
{
    private const string Room = "#vip:example.org";

    private static Command? InRoom(string body) => CommandParser.Parse(body, "!gate", isDirect: false);

    private static Command? Dm(string body) => CommandParser.Parse(body, "!gate", isDirect: true);

    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    public static TheoryData<string, Command> GoodInTheRoom => new()
    {
        { "!gate set 1000 sats per 30d", new SetPriceCommand(1000, 30 * Day) },
        { "!gate set 50000 sats forever", new SetPriceCommand(50_000, null) },
        { "!gate plan add yearly 10000 sats per 365d", new PlanAddCommand("yearly", 10_000, 365 * Day) },
        { "!gate plan add Life-Time 99 sats FOREVER", new PlanAddCommand("life-time", 99, null) },
        { "!gate plan remove yearly", new PlanRemoveCommand("yearly") },
        { "!gate plan default yearly", new PlanDefaultCommand("yearly") },
        { "!gate trial 3d", new TrialCommand(3 * Day) },
        { "!gate trial off", new TrialCommand(null) },
        { "!gate grace 2d", new GraceCommand(2 * Day) },
        { "!gate grace 0", new GraceCommand(TimeSpan.Zero) },
        { "!gate remind 5d", new RemindCommand(5 * Day) },
        { "!gate remind off", new RemindCommand(TimeSpan.Zero) },
        { "!gate off", new SellingCommand(false) },
        { "!gate on", new SellingCommand(true) },
        { "!gate grant @ann:example.org 30d", new GrantCommand("@ann:example.org", 30 * Day) },
        { "!gate grant @ann:example.org forever", new GrantCommand("@ann:example.org", null) },
        { "!gate revoke @ann:example.org", new RevokeCommand("@ann:example.org") },
        { "!gate exempt @ann:example.org", new ExemptCommand("@ann:example.org", true) },
        { "!gate unexempt @ann:example.org", new ExemptCommand("@ann:example.org", false) },
        { "!gate members", new MembersCommand() },
        { "!gate stats", new StatsCommand() },
        { "!gate export", new ExportCommand() },
        { "!gate log", new LogCommand() },
        { "!gate show", new ShowCommand() },
        { "!gate plans", new PlansCommand(null) },
        { "!gate join", new JoinCommand(null) },
        { "!gate join yearly", new JoinCommand(null, "yearly") },
        { "!gate join trial", new JoinCommand(null, "trial") },
        { "!gate renew", new RenewCommand(null) },
        { "!gate renew yearly", new RenewCommand(null, "yearly") },
        { "!gate reminders off", new RemindersCommand(null, false) },
        { "!gate help grant", new HelpCommand("grant") },
        { "!gate help plan add", new HelpCommand("plan add") },
    };

    [Theory]
    [MemberData(nameof(GoodInTheRoom))]
    public void Each_form_reads_in_the_room(string body, Command expected) => Assert.Equal(expected, InRoom(body));

    public static TheoryData<string, Command> GoodInADm => new()
    {
        { $"set {Room} 1000 sats per 30d", new SetPriceCommand(1000, 30 * Day) { Room = Room } },
        { $"plan add {Room} yearly 10000 sats per 365d", new PlanAddCommand("yearly", 10_000, 365 * Day) { Room = Room } },
        { $"grant {Room} @ann:example.org 30d", new GrantCommand("@ann:example.org", 30 * Day) { Room = Room } },
        { $"members {Room}", new MembersCommand { Room = Room } },
        { $"off !abc:example.org", new SellingCommand(false) { Room = "!abc:example.org" } },
        { $"plans {Room}", new PlansCommand(Room) },
        { $"join {Room} trial", new JoinCommand(Room, "trial") },
        { $"renew {Room} yearly", new RenewCommand(Room, "yearly") },
        { $"reminders on {Room}", new RemindersCommand(Room, true) },
        { "status", new StatusCommand() },
    };

    [Theory]
    [MemberData(nameof(GoodInADm))]
    public void In_a_DM_owner_commands_name_the_room_first(string body, Command expected) => Assert.Equal(expected, Dm(body));

    [Theory]
    [InlineData("!gate set 1000 sats forever please", "could not read that price")]
    [InlineData("!gate plan", "needs add, remove or default")]
    [InlineData("!gate plan rename a b", "needs add, remove or default")]
    [InlineData("!gate plan add trial 10 sats per 1d", "reserved for the free trial")]
    [InlineData("!gate plan add Gold! 10 sats per 1d", "not a plan name")]
    [InlineData("!gate plan add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 10 sats per 1d", "not a plan name")]
    [InlineData("!gate plan add gold -10 sats per 1d", "negative")]
    [InlineData("!gate plan add gold 10 sats per 0d", "longer than zero")]
    [InlineData("!gate plan add", "Which plan?")]
    [InlineData("!gate plan remove", "takes one plan name")]
    [InlineData("!gate trial", "takes a duration or off")]
    [InlineData("!gate trial forever", "not a duration")]
    [InlineData("!gate grace -1d", "not a duration")]
    [InlineData("!gate grace 1d 2d", "takes one duration")]
    [InlineData("!gate remind soon", "not a duration")]
    [InlineData("!gate grant ann 30d", "not a Matrix user id")]
    [InlineData("!gate grant @ann:example.org", "takes a user and a duration")]
    [InlineData("!gate grant @ann:example.org 99999999d", "longer than the longest period")]
    [InlineData("!gate revoke", "takes one user")]
    [InlineData("!gate exempt @:example.org", "not a Matrix user id")]
    [InlineData("!gate members all", "takes no arguments")]
    [InlineData("!gate off now", "takes no arguments")]
    [InlineData("!gate reminders", "reminders off")]
    [InlineData("!gate reminders maybe", "reminders off")]
    [InlineData("!gate help frobnicate", "no command by that name")]
    [InlineData("!gate join #vip", "not a room alias or id")]
    public void Bad_arguments_get_what_was_wrong_and_the_right_form(string body, string problem)
    {
        var invalid = Assert.IsType<InvalidCommand>(InRoom(body));
        Assert.Contains(problem, invalid.Problem, StringComparison.Ordinal);
        CommandBodies.AssertCompleteSentence(invalid.Problem, body);
    }

    [Theory]
    [InlineData("set 1000 sats per 30d", "name the room first")]
    [InlineData("members", "name the room first")]
    [InlineData("grant @ann:example.org 30d", "name the room first")]
    [InlineData("plan add #vip gold 1 sat per 1d", "name the room first")]
    [InlineData("join", "Which room?")]
    [InlineData("join gold", "not a room alias or id")]
    [InlineData("reminders off", "Which room?")]
    public void In_a_DM_a_missing_room_is_asked_for(string body, string problem)
    {
        var invalid = Assert.IsType<InvalidCommand>(Dm(body));
        Assert.Contains(problem, invalid.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("!gate", invalid.Problem, StringComparison.Ordinal);
        CommandBodies.AssertCompleteSentence(invalid.Problem, body);
    }

    [Fact]
    public void A_DM_usage_hint_shows_the_room_where_it_goes()
    {
        var invalid = Assert.IsType<InvalidCommand>(Dm($"grant {Room} ann 30d"));
        Assert.Contains("grant #room:server <@user> <duration>|forever", invalid.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_command_in_the_help_table_parses_from_its_own_example()
    {
        foreach (var usage in CommandHelp.Owner.Concat(CommandHelp.Member))
        {
            foreach (var isDirect in new[] { false, true })
            {
                var body = usage.Form("!gate", isDirect, example: true).Replace("[plan|trial]", "", StringComparison.Ordinal)
                    .Replace("[plan]", "", StringComparison.Ordinal).Replace("[command]", "", StringComparison.Ordinal)
                    .Replace("<duration>|off", "3d", StringComparison.Ordinal);
                var parsed = CommandParser.Parse(body, "!gate", isDirect);
                Assert.False(parsed is null or InvalidCommand, $"{body} → {parsed}");
            }
        }
    }
}
