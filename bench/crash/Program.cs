using System.Globalization;
using Doorman.BenchShared;
using Doorman.Crash;
using Doorman.Storage;

// Doorman.Crash [--kills 25] [--first-start-kills 5] [--purchases 500] [--members 50] [--rooms 5] [--controls 3] [--concurrency 10] [--seed 1]
//   [--min-up 0.5] [--max-up 3] [--startup-kills 0.2] [--patience 5] [--think 1] [--bot path/to/Doorman.dll] [--keep]
//   [--storage Sqlite|Postgres] [--postgres CS] [--instances 1|2] [--max-gap S] [--chaos S] [--postgres-restart CMD] [--rate-limit PER_SECOND]
// The bot as a child process, SIGKILLed at random moments and restarted while members buy access on the sandbox
// homeserver and LND hosted here; then the audit. Exit code 0 only if every rule held. See docs/RELIABILITY.md.
var options = new CrashOptions();
const string Usage = "usage: Doorman.Crash [--kills N] [--first-start-kills N] [--purchases N] [--members N] [--rooms N] [--controls N] [--concurrency N] [--seed N] "
    + "[--min-up S] [--max-up S] [--startup-kills SHARE] [--patience S] [--think S] [--bot Doorman.dll] [--keep] "
    + "[--storage Sqlite|Postgres] [--postgres CS] [--instances N] [--max-gap S] [--chaos S] [--postgres-restart CMD] [--rate-limit PER_SECOND]";
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--keep")
    {
        options = options with { Keep = true };
        continue;
    }
    if (i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"{args[i]} needs a value; {Usage}");
        return 2;
    }
    var value = args[++i];
    int Int() => int.Parse(value, CultureInfo.InvariantCulture);
    double Real() => double.Parse(value, CultureInfo.InvariantCulture);
    switch (args[i - 1])
    {
        case "--kills": options = options with { Kills = Int() }; break;
        case "--first-start-kills": options = options with { FirstStartKills = Int() }; break;
        case "--purchases": options = options with { Purchases = Int() }; break;
        case "--members": options = options with { Members = Int() }; break;
        case "--rooms": options = options with { Rooms = Int() }; break;
        case "--controls": options = options with { Controls = Int() }; break;
        case "--concurrency": options = options with { Concurrency = Int() }; break;
        case "--seed": options = options with { Seed = Int() }; break;
        case "--min-up": options = options with { MinUpSeconds = Real() }; break;
        case "--max-up": options = options with { MaxUpSeconds = Real() }; break;
        case "--startup-kills": options = options with { StartUpKills = Real() }; break;
        case "--patience": options = options with { PatienceSeconds = Real() }; break;
        case "--think": options = options with { ThinkSeconds = Real() }; break;
        case "--bot": options = options with { Bot = value }; break;
        case "--storage": options = options with { Storage = BenchStorage.ParseProvider(value) }; break;
        case "--postgres": options = options with { Postgres = value }; break;
        case "--instances": options = options with { Instances = Int() }; break;
        case "--max-gap": options = options with { MaxGapSeconds = Real() }; break;
        case "--chaos": options = options with { ChaosSeconds = Real() }; break;
        case "--postgres-restart": options = options with { PostgresRestart = value }; break;
        case "--rate-limit": options = options with { RateLimit = Real() }; break;
        default: Console.Error.WriteLine($"unknown option {args[i - 1]}; {Usage}"); return 2;
    }
}
if (options.Kills < 1 || options.Members < 1 || options.Rooms < 1 || options.Purchases < options.Members || options.Concurrency < 1)
{
    Console.Error.WriteLine($"need at least one kill, member, room and purchase per member; {Usage}");
    return 2;
}
if (options.Instances is < 1 or > 2 || (options.Instances > 1 && options.Storage != StorageProvider.Postgres))
{
    // Two instances share one database, and only PostgreSQL elects the active one (docs/operators.md, "Two instances").
    Console.Error.WriteLine($"--instances is 1, or 2 with --storage Postgres; {Usage}");
    return 2;
}
return await CrashRun.RunAsync(options, Console.Out, CancellationToken.None);
