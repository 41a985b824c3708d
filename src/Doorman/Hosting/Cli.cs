using System.CommandLine;
using System.Data.Common;
using System.Reflection;
using System.Runtime.InteropServices;
using Doorman.Homeserver;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Hosting;

/// <summary>
/// The operators' command line (README "Command line"): <c>doorman</c> or <c>doorman run</c> runs the bot;
/// <c>check</c>, <c>migrate</c> (and <c>migrate --to-postgres</c>, Hosting/MigrateToPostgres.cs), <c>version</c>, <c>health</c> (also the old <c>--healthcheck</c>). Configuration
/// overrides such as <c>--Matrix:UserId=…</c> are not options of ours: they pass through to the configuration for
/// every verb, so the parser leaves unknown tokens alone.
/// </summary>
public static class Cli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var healthcheck = new Option<bool>("--healthcheck") { Description = "The same as `health` (the container image's probe).", Hidden = true };
        var root = new RootCommand("Doorman: sells access to Matrix rooms for Lightning payments.") { TreatUnmatchedTokensAsErrors = false };
        root.Options.Add(healthcheck);
        root.SetAction((parse, ct) => parse.GetValue(healthcheck) ? HealthProbe.RunAsync(Overrides(parse)) : RunBotAsync(Overrides(parse), error));

        Command Verb(string name, string description, Func<string[], CancellationToken, Task<int>> action)
        {
            var command = new Command(name, description) { TreatUnmatchedTokensAsErrors = false };
            command.SetAction((parse, ct) => action(Overrides(parse), ct));
            root.Subcommands.Add(command);
            return command;
        }

        Verb("run", "Run the bot (the default).", (config, _) => RunBotAsync(config, error));
        Verb("check", "Check the configuration, homeserver, payment backend, database, listener and gated rooms; change nothing. Exit 0 when all pass.",
            (config, ct) => Check.RunAsync(config, output, ct));
        var migrate = Verb("migrate", "Apply the database migrations and exit.", (config, ct) => MigrateAsync(config, output, ct));
        // ZeroOrOne: a missing connection string is our usage error (exit 2), not the parser's.
        var toPostgres = new Option<string>("--to-postgres")
        {
            Description = "Copy the SQLite database into this empty PostgreSQL database (an Npgsql connection string) and say what to change in the configuration.",
            HelpName = "connection string",
            Arity = ArgumentArity.ZeroOrOne,
        };
        migrate.Options.Add(toPostgres);
        migrate.SetAction((parse, ct) => parse.GetResult(toPostgres) is null
            ? MigrateAsync(Overrides(parse), output, ct)
            : MigrateToPostgres.RunAsync(Overrides(parse), parse.GetValue(toPostgres), output, error, ct));
        Verb("version", "Print the version, commit and .NET runtime.", (_, _) => Task.FromResult(PrintVersion(output)));
        Verb("health", "Ask the running bot's /healthz on this machine; exit 0 when healthy.", (config, _) => HealthProbe.RunAsync(config));

        // Matrix ids start with '@', which would otherwise be read as a response file (`--Matrix:UserId @bot:example.org`).
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        // As before this command line: the host handles Ctrl+C and SIGTERM (graceful shutdown), and a crash is a crash.
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        }, cancellationToken);
    }

    /// <summary>The tokens that are not ours: configuration overrides, in their order.</summary>
    private static string[] Overrides(ParseResult parse) => [.. parse.UnmatchedTokens];

    /// <summary>The bot as it always ran: start-up checks, then every part until shutdown. 2: bad configuration; 1: stopped by a failure.</summary>
    private static async Task<int> RunBotAsync(string[] config, TextWriter error)
    {
        try
        {
            await using var app = DoormanApp.Build(DoormanApp.CreateBuilder(config));
            await DoormanApp.StartAsync(app, CancellationToken.None);
            await app.WaitForShutdownAsync();
            if (app.Services.GetRequiredService<Fatal>().Reason is { } reason)
            {
                await error.WriteLineAsync("Doorman stopped: " + reason);
                return 1;
            }
            return 0;
        }
        catch (Exception e) when (ConfigurationProblems(e) is { Count: > 0 } problems)
        {
            await error.WriteLineAsync("Doorman cannot start: the configuration has problems:");
            foreach (var problem in problems)
                await error.WriteLineAsync("  - " + problem);
            return 2;
        }
        catch (StartupException e)
        {
            await error.WriteLineAsync("Doorman cannot start: " + e.Message);
            return 1;
        }
        catch (DbException e)
        {
            // The database did not answer while the bot started (down, restarting, refusing the login). Npgsql's and
            // SQLite's messages never hold the connection string's password.
            await error.WriteLineAsync($"Doorman cannot start: the database did not answer ({e.Message}); start it again once the database is back (a restart policy does).");
            return 1;
        }
    }

    /// <summary>Options are validated per section; when several sections are wrong the host reports them together.</summary>
    internal static List<string> ConfigurationProblems(Exception e) => e switch
    {
        OptionsValidationException one => [.. one.Failures],
        AggregateException many when many.InnerExceptions.All(i => i is OptionsValidationException) =>
            [.. many.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures)],
        _ => [],
    };

    private static async Task<int> MigrateAsync(string[] config, TextWriter output, CancellationToken cancellationToken)
    {
        var builder = DoormanApp.CreateBuilder(config);
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        try
        {
            var database = app.Services.GetRequiredService<Database>();
            var before = await Check.AppliedMigrationsAsync(database, cancellationToken) ?? [];
            await app.Services.GetRequiredService<Migrator>().MigrateAsync(cancellationToken);
            var applied = Migrator.Migrations(database.Provider).Select(m => m.Version).Where(v => !before.Contains(v)).ToList();
            foreach (var version in applied)
                await output.WriteLineAsync("applied " + version);
            await output.WriteLineAsync(applied.Count == 0
                ? $"{database.Name} was already current ({before.Count} migrations)"
                : $"{database.Name} is current ({applied.Count} applied)");
            return 0;
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
                await output.WriteLineAsync("configuration: " + failure);
            return 2;
        }
        catch (DbException e)
        {
            await output.WriteLineAsync($"the database did not answer ({e.Message}); nothing was applied that is not recorded as applied");
            return 1;
        }
    }

    private static int PrintVersion(TextWriter output)
    {
        var informational = typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(Cli).Assembly.GetName().Version?.ToString() ?? "unknown";
        // The SDK appends "+<SourceRevisionId>" (the git commit, when source control information is available).
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        output.WriteLine("Doorman " + (plus < 0 ? informational : informational[..plus]));
        output.WriteLine("commit " + (plus < 0 || plus == informational.Length - 1 ? "unknown" : informational[(plus + 1)..]));
        output.WriteLine($"runtime {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})");
        return 0;
    }
}
