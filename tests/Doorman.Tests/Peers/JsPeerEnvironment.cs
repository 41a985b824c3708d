using System.Text.Json.Nodes;

using Doorman.TestSupport;

namespace Doorman.Tests.Peers;

/// <summary>
/// Where the matrix-js-sdk peer lives (<c>tests/peer</c>) and whether it can run here: Node.js on the PATH and the
/// SDK installed with <see cref="InstallCommand"/>. Checked once per test run.
/// </summary>
public static class JsPeerEnvironment
{
    /// <summary>What installs the peer's pinned dependencies, from the repository root (CI runs it before the tests).</summary>
    public const string InstallCommand = NodePeers.InstallCommand;

    /// <summary>The SDK version <c>tests/peer/package.json</c> pins.</summary>
    public const string SdkVersion = "43.0.0";

    /// <summary>Set to 1 to turn "the peer cannot run here" from a skip into a failure (CI, where it must run).</summary>
    public const string RequireVariable = NodePeers.RequireVariable;

    private static readonly Lazy<string?> Unavailable = new(FindWhyUnavailable);

    /// <summary>The folder holding <c>bot.sln</c>, found by walking up from the test assembly.</summary>
    public static string RepoRoot => NodePeers.RepoRoot;

    public static string PeerDirectory => NodePeers.PeerDirectory;

    public static string Script => Path.Combine(PeerDirectory, "peer.mjs");

    /// <summary>Why the peer cannot run here (a sentence saying how to fix it), or null when it can.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>True when a missing peer must fail the test instead of skipping it.</summary>
    public static bool Required => NodePeers.Required;

    private static string? FindWhyUnavailable()
    {
        if (NodePeers.WhyUnavailable("matrix-js-sdk peer", "matrix-js-sdk") is { } reason)
            return reason;
        var installed = Path.Combine(PeerDirectory, "node_modules", "matrix-js-sdk", "package.json");
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

/// <summary>
/// A test on the real Synapse with the crypto peer (Element's crypto): skipped unless <c>DOORMAN_SYNAPSE_URL</c>
/// names the server, and skipped as <see cref="CryptoPeerFactAttribute"/> is.
/// </summary>
public sealed class SynapseCryptoPeerFactAttribute : FactAttribute
{
    public SynapseCryptoPeerFactAttribute()
    {
        if (SynapseEnvironment.Url is null)
            Skip = SynapseEnvironment.NotConfigured;
        else if (CryptoPeerEnvironment.UnavailableReason is { } reason && !CryptoPeerEnvironment.Required)
            Skip = reason;
    }
}
