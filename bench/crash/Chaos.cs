using System.Diagnostics;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Lightning;

namespace Doorman.Crash;

/// <summary>
/// <c>--chaos S</c>: faults of the servers around the bot while the purchases run, one every S seconds (at random
/// between 0.5 S and 1.5 S, a seeded RNG), each picked at random among: the homeserver restarted (it stops listening,
/// in-flight long-polls lose their connection, and listens again: <see cref="SandboxHomeserver.RestartAsync"/>), LND's
/// invoice stream dropped (<see cref="SandboxLightningNode.DropStreams"/>), LND restarted
/// (<see cref="SandboxLightningNode.RestartAsync"/>), and with <c>--postgres-restart CMD</c> PostgreSQL restarted by
/// that shell command (e.g. <c>tests/postgres/postgres.sh restart</c>).
/// </summary>
internal sealed class Chaos(SandboxHomeserver homeserver, SandboxLightningNode lightning, string? postgresRestart, Random random,
    TimeSpan every, Action<string> note)
{
    private readonly Dictionary<string, int> _done = new(StringComparer.Ordinal);

    /// <summary>How many of each fault were made.</summary>
    public IReadOnlyDictionary<string, int> Done => _done;

    public async Task RunAsync(CancellationToken until)
    {
        var faults = new List<(string Name, Func<Task> Make)>
        {
            ("homeserver restarted", () => homeserver.RestartAsync(CancellationToken.None)),
            ("LND stream dropped", () =>
            {
                lightning.DropStreams();
                return Task.CompletedTask;
            }),
            ("LND restarted", () => lightning.RestartAsync(cancellationToken: CancellationToken.None)),
        };
        if (postgresRestart is not null)
            faults.Add(("PostgreSQL restarted", () => ShellAsync(postgresRestart)));
        while (true)
        {
            try
            {
                await Task.Delay(every * (0.5 + random.NextDouble()), until);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var (name, make) = faults[random.Next(faults.Count)];
            note($"chaos: {name}");
            await make();
            _done[name] = _done.GetValueOrDefault(name) + 1;
        }
    }

    private static async Task ShellAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command }, RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("cannot start /bin/sh");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"--postgres-restart exited with {process.ExitCode}: {await error}{await output}");
    }
}
