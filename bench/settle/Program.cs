using Doorman.Settle;

// Doorman.Settle [--purchases 200]: the real bot on the sandbox homeserver and LND node, in this process. Each purchase
// is one member asking in their DM, getting an invoice and paying it; the time measured runs from the node settling the
// invoice to the bot's invite request leaving for the homeserver (and to its answer). See bench/README.md.
var purchases = args is ["--purchases", var n] ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 200;
return await SettleToInvite.RunAsync(purchases, Console.Out, CancellationToken.None);
