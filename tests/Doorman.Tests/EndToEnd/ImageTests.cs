using System.Diagnostics;
using System.Net;
using System.Runtime.Versioning;
using Doorman.Sandbox.Players;
using Doorman.Tests.Support;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The container image (Dockerfile), built by <c>tests/image/image.sh</c> and run with podman as operators run it:
/// beside the test Synapse, on the host's network, paid through the sandbox LND over TLS, its state in a <c>/data</c>
/// volume. The image's own health check must pass, a payment must lead to an invite, and a new container on the same
/// volume must carry on where the old one stopped.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ImageTests(ITestOutputHelper output) : SynapseScenarioTests(output)
{
    protected override bool CanRun => Podman.Image is not null;

    [ImageFact]
    public async Task The_image_serves_a_paying_member_and_a_new_container_on_the_same_volume_carries_on()
    {
        var volume = "doorman-test-" + Guid.NewGuid().ToString("N")[..8];
        var environment = ContainerEnvironment();
        var healthz = new Uri(new Uri(environment["Http__Urls"]!), "/healthz");
        string? container = null;
        // As docs/operators.md advises: otherwise Synapse's message rate limit, not the bot, sets the pace.
        await ((SynapseTestHomeserver)S.Homeserver).ExemptFromRateLimitsAsync(S.BotUserId);
        try
        {
            container = await StartContainerAsync(volume, environment, healthz);
            var (_, alias, dm, settleToInvite) = await Scenarios.GatePayInviteAsync(S, "21 sats per 30d");
            Output.WriteLine($"FIGURE image on Synapse, bot exempt from rate limits: settle→invite {settleToInvite.TotalMilliseconds:F0} ms");
            await S.Member.WaitForMessageAsync(dm, body => body.Contains("welcome", StringComparison.OrdinalIgnoreCase), Scenario.Patience);

            // A new container, not a restart of the old one: only the volume carries the state over.
            await Podman.RunAsync(["stop", "--time", "10", container]);
            await Podman.RunAsync(["rm", container]);
            container = null;
            var files = await Podman.RunAsync(["run", "--rm", "--network=none", "-v", volume + ":/data", "--entrypoint", "/bin/ls", Podman.Image!, "/data"]);
            Assert.Contains("doorman.db", files, StringComparison.Ordinal);
            Assert.Contains("doorman.crypto-key", files, StringComparison.Ordinal);

            container = await StartContainerAsync(volume, environment, healthz);
            var mark = S.Member.Mark;
            await S.Member.SayAsync(dm, "status");
            var status = await S.Member.WaitForMessageAsync(dm, body => body.Contains("Your rooms", StringComparison.Ordinal), Scenario.Patience, after: mark);
            Assert.Contains($"{alias} (paid", Player.BodyOf(status), StringComparison.Ordinal);
            Assert.Contains("member until", Player.BodyOf(status), StringComparison.Ordinal);
            S.Log("the new container answered: " + Player.BodyOf(status));
        }
        finally
        {
            if (container is not null)
            {
                Output.WriteLine("container log:\n" + await Podman.TryRunAsync(["logs", "--timestamps", container]));
                await Podman.TryRunAsync(["rm", "--force", container]);
            }
            await Podman.TryRunAsync(["volume", "rm", "--force", volume]);
        }
    }

    /// <summary>The scenario's settings as the container's environment (<c>Section__Key</c>), its state in <c>/data</c>.</summary>
    private Dictionary<string, string?> ContainerEnvironment()
    {
        var environment = S.Settings.Where(setting => setting.Key != "Storage:Path")
            .ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        environment["Logging__Console__FormatterName"] = "json";
        return environment;
    }

    private async Task<string> StartContainerAsync(string volume, Dictionary<string, string?> environment, Uri healthz)
    {
        // The LND files (TLS certificate, macaroon) at the same path inside, read-only; the image's user must read them.
        var lnd = Path.GetDirectoryName(environment["Payments__Lnd__MacaroonPath"])!;
        foreach (var path in Directory.EnumerateFileSystemEntries(lnd).Append(lnd))
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.OtherRead | (Directory.Exists(path) ? UnixFileMode.OtherExecute : 0));
        for (var parent = Path.GetDirectoryName(lnd); parent is not null && parent != "/"; parent = Path.GetDirectoryName(parent))
            File.SetUnixFileMode(parent, File.GetUnixFileMode(parent) | UnixFileMode.OtherExecute);

        // Values come from podman's environment (`-e NAME`), so no secret is on a command line.
        List<string> run = ["run", "--detach", "--network=host", "--health-interval=disable", "-v", volume + ":/data", "-v", $"{lnd}:{lnd}:ro"];
        foreach (var name in environment.Keys)
            run.AddRange(["-e", name]);
        run.Add(Podman.Image!);
        var container = (await Podman.RunAsync(run, environment)).Trim();
        S.Log($"container {container[..12]} started from {Podman.Image}");

        using var http = new HttpClient();
        await Eventually.UntilAsync(async () =>
        {
            if ((await Podman.RunAsync(["inspect", "--format", "{{.State.Running}}", container])).Trim() != "true")
                throw new InvalidOperationException("the container stopped:\n" + await Podman.TryRunAsync(["logs", "--timestamps", container]));
            try
            {
                return (await http.GetAsync(healthz)).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the container's /healthz to answer 200", Scenario.Patience);
        // The image's HEALTHCHECK (`/app/Doorman health`), run inside the container.
        await Podman.RunAsync(["healthcheck", "run", container]);
        return container;
    }
}

/// <summary>Runs only where <c>tests/image/image.sh build</c> made the image (<c>DOORMAN_IMAGE</c>) and Synapse is up.</summary>
public sealed class ImageFactAttribute : FactAttribute
{
    public ImageFactAttribute()
    {
        if (Podman.Image is null)
            Skip = $"no image: set {Podman.ImageVariable} (bash .ci/run builds one with tests/image/image.sh)";
        else if (SynapseTestHomeserver.FromEnvironment() is null)
            Skip = $"no Synapse: set {SynapseTestHomeserver.UrlVariable} (bash .ci/run starts one with tests/synapse/synapse.sh)";
    }
}

/// <summary>The podman command line, as the image test uses it.</summary>
internal static class Podman
{
    public const string ImageVariable = "DOORMAN_IMAGE";

    public static string? Image => Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } image ? image : null;

    /// <summary>Runs podman; returns its standard output, or throws with its standard error when it fails.</summary>
    public static async Task<string> RunAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("podman") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"podman {start.ArgumentList[0]} failed ({process.ExitCode}): {await stderr}");
        return await stdout;
    }

    /// <summary>For clean-up and diagnostics: never throws.</summary>
    public static async Task<string> TryRunAsync(IEnumerable<string> arguments)
    {
        try
        {
            return await RunAsync(arguments);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }
}
