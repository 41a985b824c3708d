namespace Doorman.Commands;

/// <summary>A parsed chat command. Parsing is pure; handlers act on these.</summary>
public abstract record Command;

/// <summary><c>set &lt;amount&gt; sats per &lt;duration&gt;</c>: gate the room with one price.</summary>
public sealed record SetPriceCommand(long Sats, TimeSpan Period) : Command;

/// <summary><c>show</c>: the room's price and whether the bot has the power it needs.</summary>
public sealed record ShowCommand : Command;

/// <summary><c>join &lt;room&gt;</c>; without a room in a group room, that room.</summary>
public sealed record JoinCommand(string? Room) : Command;

/// <summary><c>renew &lt;room&gt;</c>; without a room in a group room, that room.</summary>
public sealed record RenewCommand(string? Room) : Command;

public sealed record StatusCommand : Command;

public sealed record HelpCommand : Command;

/// <summary>The text looked like a command for us but was malformed; <see cref="Problem"/> says how to write it.</summary>
public sealed record InvalidCommand(string Problem) : Command;
