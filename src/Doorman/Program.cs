using Doorman.Homeserver;
using Doorman.Hosting;
using Microsoft.Extensions.Options;

// Doorman: sells access to Matrix rooms for Lightning payments. `dotnet run --project src/Doorman -c Release`.
if (args.Contains("--healthcheck"))
    return await HealthProbe.RunAsync(args);

try
{
    await using var app = DoormanApp.Build(DoormanApp.CreateBuilder(args));
    await DoormanApp.StartAsync(app, CancellationToken.None);
    await app.WaitForShutdownAsync();
    if (app.Services.GetRequiredService<Fatal>().Reason is { } reason)
    {
        Console.Error.WriteLine("Doorman stopped: " + reason);
        return 1;
    }
    return 0;
}
catch (Exception e) when (ConfigurationProblems(e) is { Count: > 0 } problems)
{
    Console.Error.WriteLine("Doorman cannot start: the configuration has problems:");
    foreach (var problem in problems)
        Console.Error.WriteLine("  - " + problem);
    return 2;
}
catch (StartupException e)
{
    Console.Error.WriteLine("Doorman cannot start: " + e.Message);
    return 1;
}

// Options are validated per section; when several sections are wrong the host reports them together.
static List<string> ConfigurationProblems(Exception e) => e switch
{
    OptionsValidationException one => [.. one.Failures],
    AggregateException many when many.InnerExceptions.All(i => i is OptionsValidationException) =>
        [.. many.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures)],
    _ => [],
};
