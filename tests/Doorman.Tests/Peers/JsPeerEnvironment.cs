using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Peers;

/// <summary>
/// Where the matrix-js-sdk peer lives (<c>tests/peer</c>) and whether it can run here: Node.js on the PATH and the
/// SDK installed with <see cref="InstallCommand"/>. Checked once per test run.
/// </summary>
public static class JsPeerEnvironment
{
    /// <summary>What installs the peer's pinned dependencies, from the repository root (CI runs it before the tests).</summary>
    public const string InstallCommand = "npm ci --prefix tests/peer";

    /// <summary>The SDK version <c>tests/peer/package.json</c> pins.</summary>
    public const string SdkVersion = "43.0.0";

    /// <summary>Set to 1 to turn "the peer cannot run here" from a skip into a failure (CI, where it must run).</summary>
    public const string RequireVariable = "DOORMAN_REQUIRE_JS_PEER";

    private static readonly Lazy<string?> Unavailable = new(FindWhyUnavailable);

    /// <summary>The folder holding <c>bot.sln</c>, found by walking up from the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string PeerDirectory => Path.Combine(RepoRoot, "tests", "peer");

    public static string Script => Path.Combine(PeerDirectory, "peer.mjs");

    /// <summary>Why the peer cannot run here (a sentence saying how to fix it), or null when it can.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>True when a missing peer must fail the test instead of skipping it.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bot.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no bot.sln above {AppContext.BaseDirectory}: the tests must run from a checkout of the repository");
    }

    private static string? FindWhyUnavailable()
    {
        string? nodeVersion;
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            nodeVersion = node.StandardOutput.ReadToEnd().Trim();
            if (!node.WaitForExit(TimeSpan.FromSeconds(20)) || node.ExitCode != 0)
            {
                return "`node --version` failed: the matrix-js-sdk peer needs Node.js 20 or later on the PATH";
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Node.js is not on the PATH: the matrix-js-sdk peer needs Node.js 20 or later (Debian: apt-get install nodejs npm)";
        }

        if (!int.TryParse(nodeVersion.TrimStart('v').Split('.')[0], out var major) || major < 20)
        {
            return $"Node.js {nodeVersion} is too old: the matrix-js-sdk peer needs 20 or later";
        }

        var installed = Path.Combine(PeerDirectory, "node_modules", "matrix-js-sdk", "package.json");
        if (!File.Exists(installed))
        {
            return $"matrix-js-sdk is not installed for the test peer: run `{InstallCommand}` in {RepoRoot}";
        }

        var version = JsonNode.Parse(File.ReadAllText(installed))?["version"]?.GetValue<string>();
        return version == SdkVersion
            ? null
            : $"tests/peer has matrix-js-sdk {version}, not the pinned {SdkVersion}: run `{InstallCommand}` in {RepoRoot}";
    }
}

/// <summary>
/// A test that needs the matrix-js-sdk peer. It is skipped, with the reason and the fix, when Node.js or the SDK is
/// missing, unless <c>DOORMAN_REQUIRE_JS_PEER=1</c>, where it runs and fails saying the same.
/// </summary>
public sealed class JsPeerFactAttribute : FactAttribute
{
    public JsPeerFactAttribute()
    {
        if (JsPeerEnvironment.UnavailableReason is { } reason && !JsPeerEnvironment.Required)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// A test on the real Synapse with the matrix-js-sdk peer: skipped unless <c>DOORMAN_SYNAPSE_URL</c> names the server
/// (<c>tests/synapse/synapse.sh env</c> prints it), and skipped as <see cref="JsPeerFactAttribute"/> is.
/// </summary>
public sealed class SynapseJsPeerFactAttribute : FactAttribute
{
    public SynapseJsPeerFactAttribute()
    {
        if (SynapseEnvironment.Url is null)
        {
            Skip = SynapseEnvironment.NotConfigured;
        }
        else if (JsPeerEnvironment.UnavailableReason is { } reason && !JsPeerEnvironment.Required)
        {
            Skip = reason;
        }
    }
}

/// <summary>The real Synapse the end-to-end tests may use, as <c>tests/synapse/synapse.sh env</c> describes it.</summary>
public static class SynapseEnvironment
{
    public const string NotConfigured = "no real Synapse: set DOORMAN_SYNAPSE_URL (tests/synapse/synapse.sh start, then eval \"$(tests/synapse/synapse.sh env)\")";

    /// <summary>The server's base URL, or null when no Synapse is configured.</summary>
    public static Uri? Url => Environment.GetEnvironmentVariable("DOORMAN_SYNAPSE_URL") is { Length: > 0 } url ? new Uri(url) : null;

    /// <summary>The registration shared secret (<c>DOORMAN_SYNAPSE_SECRET</c>; the script's default otherwise).</summary>
    public static string Secret => Environment.GetEnvironmentVariable("DOORMAN_SYNAPSE_SECRET") is { Length: > 0 } secret ? secret : "doorman-test-shared-secret";
}
