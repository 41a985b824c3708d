using System.Globalization;
using Doorman.BenchShared;
using Doorman.Load;
using Doorman.Storage;

// Doorman.Load memory [--subscriptions 100000] [--settle 10] [--bot Doorman.dll] [--storage Sqlite|Postgres [--postgres CS]]
// Doorman.Load sweep [--due 10000] [--lead 20] [--absent] [--storage Sqlite|Postgres [--postgres CS]]
// memory: the bot's RSS, idle, with an empty database and with that many subscriptions (MemoryRun.cs).
// sweep: that many subscriptions ending at one instant; the bot's sweep and kicks timed (SweepRun.cs); --absent leaves
// the members out of the room (no kick requests then), --lead is how far ahead of the bot's start the instant is.
// --storage: SQLite (default) or a fresh PostgreSQL database on --postgres's server (dropped after).
// The burst of settlements is bench/settle's --burst. See bench/README.md and docs/RELIABILITY.md, "Load".
const string Usage = "usage: Doorman.Load memory|sweep [--subscriptions N] [--settle S] [--bot Doorman.dll] [--due N] [--lead S] [--absent] [--storage Sqlite|Postgres [--postgres CS]]";
if (args.Length == 0 || args[0] is not ("memory" or "sweep"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}
var provider = StorageProvider.Sqlite;
string? postgres = null, bot = null;
int subscriptions = 100_000, due = 10_000;
double settle = 10, lead = 20;
var present = true;
for (var i = 1; i < args.Length; i++)
{
    if (args[i] == "--absent")
    {
        present = false;
        continue;
    }
    if (i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"{args[i]} needs a value; {Usage}");
        return 2;
    }
    var value = args[++i];
    switch (args[i - 1])
    {
        case "--storage": provider = BenchStorage.ParseProvider(value); break;
        case "--postgres": postgres = value; break;
        case "--bot": bot = value; break;
        case "--subscriptions": subscriptions = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--due": due = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--settle": settle = double.Parse(value, CultureInfo.InvariantCulture); break;
        case "--lead": lead = double.Parse(value, CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i - 1]}; {Usage}"); return 2;
    }
}
return args[0] == "memory"
    ? await MemoryRun.RunAsync(provider, postgres, subscriptions, TimeSpan.FromSeconds(settle), bot, Console.Out, CancellationToken.None)
    : await SweepRun.RunAsync(provider, postgres, due, TimeSpan.FromSeconds(lead), present, Console.Out, CancellationToken.None);
