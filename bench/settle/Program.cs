using System.Globalization;
using Doorman.Settle;

// Doorman.Settle [--purchases 200] [--synapse URL [--secret S]]: the real bot and the sandbox LND node in this process,
// on the sandbox homeserver or a real Synapse (tests/synapse/synapse.sh: URL http://127.0.0.1:18008, and its
// registration shared secret). Each purchase is one member asking in their DM, getting an invoice and paying it; the
// time measured runs from the node settling the invoice to the bot's invite request leaving for the homeserver, to
// its answer, and to the member's sync showing it. See bench/README.md.
var purchases = 200;
Uri? synapse = null;
var secret = "doorman-test-shared-secret";
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--purchases": purchases = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--synapse": synapse = new Uri(args[i + 1].TrimEnd('/') + "/"); break;
        case "--secret": secret = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}; usage: Doorman.Settle [--purchases N] [--synapse URL [--secret S]]"); return 2;
    }
}
return await SettleToInvite.RunAsync(purchases, synapse, secret, Console.Out, CancellationToken.None);
