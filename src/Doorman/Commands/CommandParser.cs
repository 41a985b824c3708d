using Doorman.Access;

namespace Doorman.Commands;

/// <summary>
/// Turns a message body into a <see cref="Command"/>. In group rooms only text starting with the prefix (default
/// <c>!gate</c>) is ours; in a DM with the bot the prefix is optional, and owner commands name the room first.
/// Returns null for text that is not for us. Every malformed command becomes an <see cref="InvalidCommand"/> saying
/// what was wrong and the right form (<see cref="CommandHelp"/>).
/// </summary>
public static class CommandParser
{
    /// <summary>Plan names: <c>a-z</c>, <c>0-9</c>, <c>-</c>, at most this long.</summary>
    public const int MaxPlanName = 32;

    public static Command? Parse(string body, string prefix, bool isDirect)
    {
        var text = body.Trim();
        if (StartsWithWord(text, prefix))
            text = text[prefix.Length..].Trim();
        else if (!isDirect)
            return null;

        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
            return new HelpCommand();

        var p = new Syntax(prefix, isDirect);
        var verb = words[0].ToLowerInvariant();
        var args = words.AsSpan(1);
        return verb switch
        {
            "set" or "trial" or "grace" or "remind" or "off" or "on" or "grant" or "revoke" or "exempt" or "unexempt"
                or "members" or "stats" or "export" or "log" or "show" => ParseOwner(verb, args, p),
            "plan" => ParsePlan(args, p),
            "plans" => ParseMember(args, p, "plans", maxExtra: 0, (room, _) => new PlansCommand(room)),
            "join" => ParseMember(args, p, "join", maxExtra: 1, (room, plan) => new JoinCommand(room, plan)),
            "renew" => ParseMember(args, p, "renew", maxExtra: 1, (room, plan) => new RenewCommand(room, plan)),
            "reminders" => ParseReminders(args, p),
            "status" => args.Length == 0 ? new StatusCommand() : Invalid($"“status” takes no arguments: say {p.Form("status")}."),
            "help" => ParseHelp(args, p),
            _ => isDirect || StartsWithWord(body.Trim(), prefix)
                ? Invalid($"I don't know “{words[0]}”. Say {(isDirect ? "help" : prefix + " help")} for the commands I understand.")
                : null,
        };
    }

    /// <summary>How the reply shows a form: with the prefix in a room, without it (and with the room) in a DM.</summary>
    private readonly record struct Syntax(string Prefix, bool IsDirect)
    {
        public string Form(string name) => CommandHelp.Form(name, Prefix, IsDirect);

        public string Example(string name) => CommandHelp.Form(name, Prefix, IsDirect, example: true);

        public string WriteItAs(string name) =>
            CommandHelp.Find(name)!.Example.Length > 0 ? $"Write it as {Form(name)}, e.g. {Example(name)}." : $"Write it as {Form(name)}.";
    }

    private static Command ParsePlan(ReadOnlySpan<string> args, Syntax p)
    {
        var sub = args.Length > 0 ? args[0].ToLowerInvariant() : "";
        if (sub is not ("add" or "remove" or "default"))
            return Invalid($"“plan” needs add, remove or default: {p.Form("plan add")}, {p.Form("plan remove")}, {p.Form("plan default")}.");
        return ParseOwner("plan " + sub, args[1..], p);
    }

    /// <summary>An owner command: in a DM the room comes first; then the command's own arguments.</summary>
    private static Command ParseOwner(string name, ReadOnlySpan<string> args, Syntax p)
    {
        string? room = null;
        if (p.IsDirect)
        {
            if (args.Length == 0 || !IsRoomReference(args[0]))
                return Invalid($"In a direct message, name the room first. {p.WriteItAs(name)}");
            room = args[0];
            args = args[1..];
        }
        var command = ParseOwnerArguments(name, args, p);
        return command is OwnerCommand owned ? owned with { Room = room } : command;
    }

    private static Command ParseOwnerArguments(string name, ReadOnlySpan<string> args, Syntax p)
    {
        switch (name)
        {
            case "set":
            {
                var price = ParsePrice(args, p, name);
                return price.Error is null ? new SetPriceCommand(price.Sats, price.Period) : Invalid(price.Error);
            }
            case "plan add":
            {
                if (args.Length == 0)
                    return Invalid($"Which plan? {p.WriteItAs(name)}");
                if (PlanNameProblem(args[0]) is { } problem)
                    return Invalid($"{problem} {p.WriteItAs(name)}");
                var price = ParsePrice(args[1..], p, name);
                return price.Error is null ? new PlanAddCommand(args[0].ToLowerInvariant(), price.Sats, price.Period) : Invalid(price.Error);
            }
            case "plan remove" or "plan default":
            {
                if (args.Length != 1)
                    return Invalid($"“{name}” takes one plan name. {p.WriteItAs(name)}");
                if (PlanNameProblem(args[0]) is { } problem)
                    return Invalid($"{problem} {p.WriteItAs(name)}");
                var plan = args[0].ToLowerInvariant();
                return name == "plan remove" ? new PlanRemoveCommand(plan) : new PlanDefaultCommand(plan);
            }
            case "trial" or "remind":
            {
                if (args.Length != 1)
                    return Invalid($"“{name}” takes a duration or off. {p.WriteItAs(name)}");
                if (args[0].Equals("off", StringComparison.OrdinalIgnoreCase))
                    return name == "trial" ? new TrialCommand(null) : new RemindCommand(TimeSpan.Zero);
                if (Quantities.ParseDuration(args[0], out var error) is not { } length)
                    return Invalid($"{Quoted(args[0], error!)} {p.WriteItAs(name)}");
                return name == "trial" ? new TrialCommand(length) : new RemindCommand(length);
            }
            case "grace":
            {
                if (args.Length != 1)
                    return Invalid($"“grace” takes one duration (0 for none). {p.WriteItAs(name)}");
                if (args[0] == "0")
                    return new GraceCommand(TimeSpan.Zero);
                return Quantities.ParseDuration(args[0], out var error) is { } grace
                    ? new GraceCommand(grace) : Invalid($"{Quoted(args[0], error!)} {p.WriteItAs(name)}");
            }
            case "grant":
            {
                if (args.Length != 2)
                    return Invalid($"“grant” takes a user and a duration (or forever). {p.WriteItAs(name)}");
                if (UserProblem(args[0]) is { } problem)
                    return Invalid($"{problem} {p.WriteItAs(name)}");
                if (args[1].Equals("forever", StringComparison.OrdinalIgnoreCase))
                    return new GrantCommand(args[0], null);
                return Quantities.ParseDuration(args[1], out var error) is { } length
                    ? new GrantCommand(args[0], length) : Invalid($"{Quoted(args[1], error!)} {p.WriteItAs(name)}");
            }
            case "revoke" or "exempt" or "unexempt":
            {
                if (args.Length != 1)
                    return Invalid($"“{name}” takes one user. {p.WriteItAs(name)}");
                if (UserProblem(args[0]) is { } problem)
                    return Invalid($"{problem} {p.WriteItAs(name)}");
                return name == "revoke" ? new RevokeCommand(args[0]) : new ExemptCommand(args[0], name == "exempt");
            }
            default:
                if (args.Length > 0)
                    return Invalid($"“{name}” takes no arguments: say {p.Form(name)}.");
                return name switch
                {
                    "off" => new SellingCommand(false),
                    "on" => new SellingCommand(true),
                    "members" => new MembersCommand(),
                    "stats" => new StatsCommand(),
                    "export" => new ExportCommand(),
                    "log" => new LogCommand(),
                    _ => new ShowCommand(),
                };
        }
    }

    private readonly record struct Price(long Sats, TimeSpan? Period, string? Error);

    /// <summary><c>&lt;amount&gt; sats per &lt;duration&gt;</c> or <c>&lt;amount&gt; sats forever</c>.</summary>
    private static Price ParsePrice(ReadOnlySpan<string> args, Syntax p, string name)
    {
        var forever = args.Length == 3 && args[2].Equals("forever", StringComparison.OrdinalIgnoreCase);
        var per = args.Length == 4 && args[2].Equals("per", StringComparison.OrdinalIgnoreCase);
        if (!(forever || per) || args[1].ToLowerInvariant() is not ("sats" or "sat"))
            return new(0, null, $"I could not read that price (… sats per <duration>, or … sats forever for lifetime access). {p.WriteItAs(name)}");
        if (Quantities.ParseSats(args[0], out var amountError) is not { } sats)
            return new(0, null, $"{Quoted(args[0], amountError!)} {p.WriteItAs(name)}");
        if (forever)
            return new(sats, null, null);
        if (Quantities.ParseDuration(args[3], out var durationError) is not { } period)
            return new(0, null, $"{Quoted(args[3], durationError!)} {p.WriteItAs(name)}");
        return new(sats, period, null);
    }

    /// <summary>
    /// A member command naming a room (optional in a group room, which it then applies to), then up to
    /// <paramref name="maxExtra"/> more words (a plan).
    /// </summary>
    private static Command ParseMember(ReadOnlySpan<string> args, Syntax p, string verb, int maxExtra, Func<string?, string?, Command> make)
    {
        var usage = $"{p.Form(verb)} (the room as #alias:server or its id, !abc…)";
        string? room = null;
        if (args.Length > 0 && (IsRoomReference(args[0]) || args[0].StartsWith('#') || args[0].StartsWith('!')))
        {
            if (!IsRoomReference(args[0]))
                return Invalid($"“{args[0]}” is not a room alias or id. Say {usage}.");
            room = args[0];
            args = args[1..];
        }
        else if (p.IsDirect)
            return args.Length == 0 ? Invalid($"Which room? Say {usage}.") : Invalid($"“{args[0]}” is not a room alias or id. Say {usage}.");
        if (args.Length > maxExtra)
            return Invalid(maxExtra == 0 ? $"“{verb}” takes one room: {usage}." : $"“{verb}” takes one room and at most one plan: {usage}.");
        string? plan = null;
        if (args.Length == 1)
        {
            if (PlanNameProblem(args[0], allowTrial: verb == "join") is { } problem)
                return Invalid($"{problem} Say {usage}.");
            plan = args[0].ToLowerInvariant();
        }
        return make(room, plan);
    }

    private static Command ParseReminders(ReadOnlySpan<string> args, Syntax p)
    {
        var usage = p.IsDirect ? "reminders off #room:server (or reminders on #room:server)" : $"{p.Prefix} reminders off (or {p.Prefix} reminders on)";
        if (args.Length == 0 || args[0].ToLowerInvariant() is not ("off" or "on"))
            return Invalid($"Say {usage}.");
        var on = args[0].Equals("on", StringComparison.OrdinalIgnoreCase);
        var rest = args[1..];
        if (rest.Length == 0)
            return p.IsDirect ? Invalid($"Which room? Say {usage}.") : new RemindersCommand(null, on);
        if (rest.Length > 1 || !IsRoomReference(rest[0]))
            return Invalid($"“{string.Join(' ', rest.ToArray())}” is not a room alias or id. Say {usage}.");
        return new RemindersCommand(rest[0], on);
    }

    private static Command ParseHelp(ReadOnlySpan<string> args, Syntax p)
    {
        if (args.Length == 0)
            return new HelpCommand();
        var topic = string.Join(' ', args.ToArray()).ToLowerInvariant();
        return CommandHelp.Find(topic) is { } usage
            ? new HelpCommand(usage.Name)
            : Invalid($"I have no command by that name. Say {(p.IsDirect ? "help" : p.Prefix + " help")} for the list.");
    }

    /// <summary>Null when <paramref name="name"/> is a valid plan name (<c>trial</c> only where it asks for the trial).</summary>
    public static string? PlanNameProblem(string name, bool allowTrial = false)
    {
        var lower = name.ToLowerInvariant();
        if (lower == JoinCommand.Trial)
            return allowTrial ? null : "“trial” is reserved for the free trial: give the plan another name.";
        if (lower.Length is 0 or > MaxPlanName || !lower.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            return $"“{Truncate(name)}” is not a plan name: use 1 to {MaxPlanName} of a-z, 0-9 and -.";
        return null;
    }

    /// <summary>
    /// Null when <paramref name="userId"/> has the shape of a Matrix user id, <c>@localpart:server</c> (spec appendix
    /// "Identifier grammar", user identifiers: at most 255 bytes); the homeserver checks the rest.
    /// </summary>
    public static string? UserProblem(string userId)
    {
        var colon = userId.IndexOf(':', StringComparison.Ordinal);
        if (userId.Length < 4 || userId[0] != '@' || colon < 2 || colon == userId.Length - 1
            || System.Text.Encoding.UTF8.GetByteCount(userId) > 255 || userId.Any(char.IsControl))
            return $"“{Truncate(userId)}” is not a Matrix user id (they look like @name:server).";
        return null;
    }

    /// <summary>
    /// Some of <see cref="Quantities"/>' errors begin with the member's text as typed ("99999999999999999999 sats is
    /// more than…"); quoted, like the others, the reply still starts as a sentence.
    /// </summary>
    private static string Quoted(string typed, string error) =>
        error.StartsWith(typed, StringComparison.Ordinal) ? $"“{typed}”{error[typed.Length..]}" : error;

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";

    /// <summary>
    /// <c>#alias:server</c>, <c>!id:server</c>, or a room version 12 id (<c>!</c> + the create event's hash, no
    /// server part). Appendix "Identifier grammar" of the spec; we check the shape, the homeserver checks the rest.
    /// </summary>
    public static bool IsRoomReference(string text) =>
        text.Length is > 1 and <= 255
        && (text[0] == '#' ? text.IndexOf(':', StringComparison.Ordinal) > 1 && !text.EndsWith(':')
            : text[0] == '!' && !text.EndsWith(':'))
        && !text.Any(char.IsWhiteSpace);

    private static bool StartsWithWord(string text, string prefix) =>
        text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (text.Length == prefix.Length || char.IsWhiteSpace(text[prefix.Length]));

    private static InvalidCommand Invalid(string problem) => new(problem);
}
