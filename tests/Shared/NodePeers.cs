using System.Diagnostics;

namespace Doorman.TestSupport;

/// <summary>
/// What the Node.js peers in <c>tests/peer</c> need, shared by both test projects (each links this file): the
/// repository root, Node.js 20 or later on the PATH, and the packages <see cref="InstallCommand"/> installs.
/// </summary>
internal static class NodePeers
{
    /// <summary>What installs the peers' pinned dependencies, from the repository root (CI runs it before the tests).</summary>
    public const string InstallCommand = "npm ci --prefix tests/peer";

    /// <summary>Set to 1 to turn "a peer cannot run here" from a skip into a failure (CI, where they must run).</summary>
    public const string RequireVariable = "DOORMAN_REQUIRE_JS_PEER";

    private static readonly Lazy<string?> NodeUnavailable = new(FindWhyNodeUnavailable);

    /// <summary>The folder holding <c>bot.sln</c>, found by walking up from the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string PeerDirectory => Path.Combine(RepoRoot, "tests", "peer");

    /// <summary>True when a missing peer must fail the test instead of skipping it.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>
    /// Why a peer needing these npm <paramref name="packages"/> cannot run here (a sentence saying how to fix it),
    /// or null when it can.
    /// </summary>
    public static string? WhyUnavailable(string peer, params string[] packages)
    {
        if (NodeUnavailable.Value is { } reason)
            return $"{reason}: the {peer} needs it";
        foreach (var package in packages)
        {
            if (!File.Exists(Path.Combine(PeerDirectory, "node_modules", package, "package.json")))
                return $"{package} is not installed for the {peer}: run `{InstallCommand}` in {RepoRoot}";
        }
        return null;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bot.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no bot.sln above {AppContext.BaseDirectory}: the tests must run from a checkout of the repository");
    }

    private static string? FindWhyNodeUnavailable()
    {
        string version;
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            version = node.StandardOutput.ReadToEnd().Trim();
            if (!node.WaitForExit(TimeSpan.FromSeconds(20)) || node.ExitCode != 0)
                return "`node --version` failed; Node.js 20 or later must be on the PATH";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Node.js is not on the PATH (Debian: apt-get install nodejs npm)";
        }
        return int.TryParse(version.TrimStart('v').Split('.')[0], out var major) && major >= 20
            ? null
            : $"Node.js {version} is too old; 20 or later is needed";
    }
}
