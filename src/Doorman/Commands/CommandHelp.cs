namespace Doorman.Commands;

/// <summary>One command's usage: the form, an example and what it does, for <c>help</c> and for error replies.</summary>
/// <param name="Name">The words that name it: "set", "plan add".</param>
/// <param name="Arguments">What follows the name (and, for an owner command in a DM, the room): "&lt;amount&gt; sats per &lt;duration&gt;".</param>
/// <param name="Example">Example arguments.</param>
/// <param name="Owner">An owner command: in a DM it names the room first.</param>
/// <param name="RoomOptionalInRoom">A member command whose room may be left out when given in that room.</param>
public sealed record CommandUsage(string Name, string Arguments, string Example, string Effect, bool Owner, bool RoomOptionalInRoom = false)
{
    /// <summary>"!gate set 1000 sats per 30d" in a room; "set #room:server 1000 sats per 30d" in a DM.</summary>
    public string Form(string prefix, bool isDirect, bool example = false)
    {
        var args = example ? Example : Arguments;
        var room = example ? "#room:example.org" : "#room:server";
        var words = isDirect
            ? Owner || RoomOptionalInRoom ? $"{Name} {room} {args}" : $"{Name} {args}"
            : $"{prefix} {Name} {args}";
        return words.TrimEnd();
    }
}

/// <summary>Every command, in the order <c>help</c> lists them. The names and forms are a contract (docs/owners.md, docs/members.md).</summary>
public static class CommandHelp
{
    public static readonly IReadOnlyList<CommandUsage> Owner =
    [
        new("set", "<amount> sats per <duration>", "1000 sats per 30d", "price and period of the default plan (or <amount> sats forever: lifetime access)", Owner: true),
        new("plan add", "<name> <amount> sats per <duration>", "yearly 10000 sats per 365d", "add a plan (or … sats forever); names: a-z, 0-9, -", Owner: true),
        new("plan remove", "<name>", "yearly", "remove a plan; members on it keep their time and renew on the default plan", Owner: true),
        new("plan default", "<name>", "yearly", "make a plan the default", Owner: true),
        new("trial", "<duration>|off", "3d", "a free trial, once per person, never for anyone who has paid", Owner: true),
        new("grace", "<duration>", "2d", "how long a member whose time ended may stay and renew before removal (0: none)", Owner: true),
        new("remind", "<duration>|off", "3d", "how long before the end members get a reminder with a renewal invoice", Owner: true),
        new("off", "", "", "stop selling; members keep their time and may still renew", Owner: true),
        new("on", "", "", "resume selling", Owner: true),
        new("grant", "<@user> <duration>|forever", "@ann:example.org 30d", "complimentary time, added from the later of now and their end; invites them", Owner: true),
        new("revoke", "<@user>", "@ann:example.org", "end someone's access now and remove them", Owner: true),
        new("exempt", "<@user>", "@ann:example.org", "never remove this person", Owner: true),
        new("unexempt", "<@user>", "@ann:example.org", "back to the normal rules", Owner: true),
        new("members", "", "", "everyone with access: source, plan, until", Owner: true),
        new("stats", "", "", "sales, sats earned, members by source, expiring, churned, open invoices", Owner: true),
        new("export", "", "", "the members as a CSV file", Owner: true),
        new("log", "", "", "the last 20 owner actions", Owner: true),
        new("show", "", "", "the room's plans and settings, and whether I can do my job there", Owner: true),
    ];

    public static readonly IReadOnlyList<CommandUsage> Member =
    [
        new("plans", "", "", "the room's plans, its trial, and where you stand", Owner: false, RoomOptionalInRoom: true),
        new("join", "[plan|trial]", "", "an invoice for the plan (the default if you name none), or the free trial", Owner: false, RoomOptionalInRoom: true),
        new("renew", "[plan]", "", "an invoice that extends your time from its end (your plan if you name none)", Owner: false, RoomOptionalInRoom: true),
        new("status", "", "", "your rooms, plans, times and open invoices", Owner: false),
        new("reminders off", "", "", "no more reminders for that room (reminders on: back on)", Owner: false, RoomOptionalInRoom: true),
        new("help", "[command]", "", "this list, or one command in detail", Owner: false),
    ];

    public static CommandUsage? Find(string name) =>
        Owner.Concat(Member).FirstOrDefault(u => u.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? Owner.Concat(Member).FirstOrDefault(u => u.Name.Split(' ')[0].Equals(name, StringComparison.OrdinalIgnoreCase));

    public static string Form(string name, string prefix, bool isDirect, bool example = false) =>
        (Find(name) ?? throw new ArgumentException($"no command {name}", nameof(name))).Form(prefix, isDirect, example);
}
