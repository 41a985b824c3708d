using Doorman.Hosting;
using Microsoft.Extensions.Options;

// Doorman: sells access to Matrix rooms for Lightning payments. `dotnet run --project src/Doorman -c Release`.
if (args.Contains("--healthcheck"))
    return await HealthProbe.RunAsync(args);

try
{
    var app = DoormanApp.Build(DoormanApp.CreateBuilder(args));
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine("Doorman cannot start: the configuration has problems:");
    foreach (var failure in e.Failures)
        Console.Error.WriteLine("  - " + failure);
    return 2;
}
catch (StartupException e)
{
    Console.Error.WriteLine("Doorman cannot start: " + e.Message);
    return 1;
}
