using System.Globalization;
using Doorman.BenchShared;
using Doorman.Settle;
using Doorman.Storage;

// Doorman.Settle [--purchases 200 | --burst 1000] [--storage Sqlite|Postgres [--postgres CS]] [--synapse URL [--secret S]]:
// the real bot and the sandbox LND node in this process, on the sandbox homeserver or a real Synapse
// (tests/synapse/synapse.sh: URL http://127.0.0.1:18008, and its registration shared secret).
// --purchases: each purchase is one member asking in their DM, getting an invoice and paying it, one at a time; the
// time measured runs from the node settling the invoice to the bot's invite request leaving for the homeserver, to
// its answer, and to the member's sync showing it.
// --burst: that many members hold pending orders, then all their invoices settle at once (Burst.cs).
// --storage: the bot's database, SQLite (default) or a fresh PostgreSQL database on --postgres's server (dropped after).
// See bench/README.md.
var purchases = 200;
var burst = 0;
Uri? synapse = null;
var secret = "doorman-test-shared-secret";
var provider = StorageProvider.Sqlite;
string? postgres = null;
const string Usage = "usage: Doorman.Settle [--purchases N | --burst N] [--storage Sqlite|Postgres [--postgres CS]] [--synapse URL [--secret S]]";
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--purchases": purchases = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--burst": burst = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--synapse": synapse = new Uri(args[i + 1].TrimEnd('/') + "/"); break;
        case "--secret": secret = args[i + 1]; break;
        case "--storage": provider = BenchStorage.ParseProvider(args[i + 1]); break;
        case "--postgres": postgres = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}; {Usage}"); return 2;
    }
}
return burst > 0
    ? await Burst.RunAsync(burst, synapse, secret, provider, postgres, Console.Out, CancellationToken.None)
    : await SettleToInvite.RunAsync(purchases, synapse, secret, provider, postgres, Console.Out, CancellationToken.None);
