using Doorman.Access;

namespace Doorman.Commands;

/// <summary>
/// Turns a message body into a <see cref="Command"/>. In group rooms only text starting with the prefix (default
/// <c>!gate</c>) is ours; in a DM with the bot the prefix is optional. Returns null for text that is not for us.
/// </summary>
public static class CommandParser
{
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

        var args = words.AsSpan(1);
        return words[0].ToLowerInvariant() switch
        {
            "set" => ParseSet(args, prefix, isDirect),
            "show" => args.Length == 0 ? new ShowCommand() : Invalid($"“show” takes no arguments: say {Usage(prefix, isDirect, "show")}."),
            "join" => ParseRoomArgument(args, prefix, isDirect, "join", room => new JoinCommand(room)),
            "renew" => ParseRoomArgument(args, prefix, isDirect, "renew", room => new RenewCommand(room)),
            "status" => args.Length == 0 ? new StatusCommand() : Invalid($"“status” takes no arguments: say {Usage(prefix, isDirect, "status")}."),
            "help" => new HelpCommand(),
            _ => isDirect || StartsWithWord(body.Trim(), prefix)
                ? Invalid($"I don't know “{words[0]}”. Say {Usage(prefix, isDirect, "help")} for the commands I understand.")
                : null,
        };
    }

    /// <summary>"!gate join #room:server" in rooms, "join #room:server" in a DM.</summary>
    public static string Usage(string prefix, bool isDirect, string command) => isDirect ? command : $"{prefix} {command}";

    private static Command ParseSet(ReadOnlySpan<string> args, string prefix, bool isDirect)
    {
        var usage = $"Write it as {Usage(prefix, isDirect, "set <amount> sats per <duration>")}, e.g. {Usage(prefix, isDirect, "set 1000 sats per 30d")}.";
        if (args.Length != 4 || args[1].ToLowerInvariant() is not ("sats" or "sat") || !args[2].Equals("per", StringComparison.OrdinalIgnoreCase))
            return Invalid($"I could not read that price. {usage}");
        if (Quantities.ParseSats(args[0], out var amountError) is not { } sats)
            return Invalid($"{Quoted(args[0], amountError!)} {usage}");
        if (Quantities.ParseDuration(args[3], out var durationError) is not { } period)
            return Invalid($"{Quoted(args[3], durationError!)} {usage}");
        return new SetPriceCommand(sats, period);
    }

    /// <summary>
    /// Some of <see cref="Quantities"/>' errors begin with the member's text as typed ("99999999999999999999 sats is
    /// more than…"); quoted, like the others, the reply still starts as a sentence.
    /// </summary>
    private static string Quoted(string typed, string error) =>
        error.StartsWith(typed, StringComparison.Ordinal) ? $"“{typed}”{error[typed.Length..]}" : error;

    private static Command ParseRoomArgument(ReadOnlySpan<string> args, string prefix, bool isDirect, string verb, Func<string?, Command> make)
    {
        var usage = $"{Usage(prefix, isDirect, verb + " #room:server")} (or the room's id, !abc…)";
        if (args.Length > 1)
            return Invalid($"“{verb}” takes one room: {usage}.");
        if (args.Length == 0)
            return isDirect ? Invalid($"Which room? Say {usage}.") : make(null);
        var room = args[0];
        return IsRoomReference(room) ? make(room) : Invalid($"“{room}” is not a room alias or id. Say {usage}.");
    }

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
