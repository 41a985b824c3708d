namespace Doorman.Commands;

/// <summary>A parsed chat command. Parsing is pure; handlers act on these. The forms are in docs/owners.md and docs/members.md.</summary>
public abstract record Command;

/// <summary>
/// A command only a room's owners may give. In the room it applies to that room; in a DM it names the room first
/// (<c>set #room:server 1000 sats per 30d</c>), which <see cref="Room"/> holds.
/// </summary>
public abstract record OwnerCommand : Command
{
    /// <summary>The room named in a DM; null: the room the command was given in.</summary>
    public string? Room { get; init; }

    /// <summary>What it reveals is the members' business: given in the room, the answer goes to the owner's DM.</summary>
    public virtual bool IsPrivate => false;
}

/// <summary><c>set &lt;amount&gt; sats per &lt;duration&gt;</c> / <c>set &lt;amount&gt; sats forever</c>: the default plan.</summary>
/// <param name="Period">Null: lifetime access.</param>
public sealed record SetPriceCommand(long Sats, TimeSpan? Period) : OwnerCommand;

/// <summary><c>plan add &lt;name&gt; &lt;amount&gt; sats per &lt;duration&gt;</c> (or <c>forever</c>).</summary>
public sealed record PlanAddCommand(string Name, long Sats, TimeSpan? Period) : OwnerCommand;

/// <summary><c>plan remove &lt;name&gt;</c>.</summary>
public sealed record PlanRemoveCommand(string Name) : OwnerCommand;

/// <summary><c>plan default &lt;name&gt;</c>.</summary>
public sealed record PlanDefaultCommand(string Name) : OwnerCommand;

/// <summary><c>trial &lt;duration&gt;</c> / <c>trial off</c> (null).</summary>
public sealed record TrialCommand(TimeSpan? Length) : OwnerCommand;

/// <summary><c>grace &lt;duration&gt;</c>; <c>grace 0</c>: none.</summary>
public sealed record GraceCommand(TimeSpan Length) : OwnerCommand;

/// <summary><c>remind &lt;duration&gt;</c> / <c>remind off</c> (zero).</summary>
public sealed record RemindCommand(TimeSpan Lead) : OwnerCommand;

/// <summary><c>on</c> / <c>off</c>: resume or stop selling.</summary>
public sealed record SellingCommand(bool On) : OwnerCommand;

/// <summary><c>grant &lt;@user&gt; &lt;duration&gt;</c> / <c>grant &lt;@user&gt; forever</c> (null).</summary>
public sealed record GrantCommand(string UserId, TimeSpan? Length) : OwnerCommand;

/// <summary><c>revoke &lt;@user&gt;</c>.</summary>
public sealed record RevokeCommand(string UserId) : OwnerCommand;

/// <summary><c>exempt &lt;@user&gt;</c> / <c>unexempt &lt;@user&gt;</c>.</summary>
public sealed record ExemptCommand(string UserId, bool Exempt) : OwnerCommand;

/// <summary><c>members</c>.</summary>
public sealed record MembersCommand : OwnerCommand
{
    public override bool IsPrivate => true;
}

/// <summary><c>stats</c>.</summary>
public sealed record StatsCommand : OwnerCommand
{
    public override bool IsPrivate => true;
}

/// <summary><c>export</c>: a CSV file of the members.</summary>
public sealed record ExportCommand : OwnerCommand
{
    public override bool IsPrivate => true;
}

/// <summary><c>log</c>: the last owner actions.</summary>
public sealed record LogCommand : OwnerCommand
{
    public override bool IsPrivate => true;
}

/// <summary><c>show</c>: the room's settings and health.</summary>
public sealed record ShowCommand : OwnerCommand;

/// <summary><c>plans &lt;room&gt;</c>; without a room in a group room, that room.</summary>
public sealed record PlansCommand(string? Room) : Command;

/// <summary><c>join &lt;room&gt; [plan|trial]</c>; without a room in a group room, that room.</summary>
public sealed record JoinCommand(string? Room, string? Plan = null) : Command
{
    /// <summary>The plan word that asks for the free trial.</summary>
    public const string Trial = "trial";
}

/// <summary><c>renew &lt;room&gt; [plan]</c>; without a room in a group room, that room.</summary>
public sealed record RenewCommand(string? Room, string? Plan = null) : Command;

/// <summary><c>reminders off|on &lt;room&gt;</c>.</summary>
public sealed record RemindersCommand(string? Room, bool On) : Command;

public sealed record StatusCommand : Command;

/// <summary><c>help</c> / <c>help &lt;command&gt;</c>.</summary>
public sealed record HelpCommand(string? Topic = null) : Command;

/// <summary>The text looked like a command for us but was malformed; <see cref="Problem"/> says how to write it.</summary>
public sealed record InvalidCommand(string Problem) : Command;
