using Doorman.Hosting;

// Doorman: sells access to Matrix rooms for Lightning payments. `dotnet run --project src/Doorman -c Release`.
// The verbs (run, check, migrate, version, health) are in Hosting/Cli.cs.
return await Cli.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
