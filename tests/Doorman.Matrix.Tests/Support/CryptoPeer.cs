using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Doorman.Matrix.Tests.Support;

/// <summary>
/// The reference crypto (libolm, and matrix-sdk-crypto-wasm: Element's stack) as a Node.js process,
/// <c>tests/peer/crypto-peer.mjs</c>. Requests run one at a time; objects living across requests are named by
/// handles. Start one per test: <c>await using var peer = await CryptoPeer.StartAsync();</c>
/// </summary>
public sealed class CryptoPeer : IAsyncDisposable
{
    private readonly Process _process;
    private int _nextId;

    private CryptoPeer(Process process) => _process = process;

    public static Task<CryptoPeer> StartAsync()
    {
        if (CryptoPeerEnvironment.UnavailableReason is { } reason)
            throw new InvalidOperationException(reason);
        var process = Process.Start(new ProcessStartInfo("node", CryptoPeerEnvironment.Script)
        {
            WorkingDirectory = CryptoPeerEnvironment.PeerDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return Task.FromResult(new CryptoPeer(process));
    }

    /// <summary>Runs one operation and returns its result; a failure in the peer throws with its message.</summary>
    public async Task<JsonNode?> CallAsync(string op, JsonObject? arguments = null)
    {
        var request = arguments is null ? [] : (JsonObject)arguments.DeepClone();
        var id = ++_nextId;
        request["id"] = id;
        request["op"] = op;
        await _process.StandardInput.WriteLineAsync(request.ToJsonString());
        await _process.StandardInput.FlushAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
            ?? throw new InvalidOperationException($"the crypto peer ended during {op}");
        var answer = JsonNode.Parse(line)!.AsObject();
        if (answer["id"]?.GetValue<int>() != id)
            throw new InvalidOperationException($"the crypto peer answered {line} to request {id}");
        if (answer["ok"]?.GetValue<bool>() != true)
            throw new CryptoPeerException($"{op}: {answer["error"]}");
        return answer["result"];
    }

    /// <summary><see cref="CallAsync"/> for a result that is one string.</summary>
    public async Task<string> CallForStringAsync(string op, JsonObject? arguments = null) =>
        (await CallAsync(op, arguments))!.GetValue<string>();

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}

public sealed class CryptoPeerException(string message) : Exception(message);

/// <summary>Where the crypto peer lives and whether it can run here; mirrors the matrix-js-sdk peer's rules.</summary>
public static class CryptoPeerEnvironment
{
    /// <summary>Set to 1 to turn "the peer cannot run here" from a skip into a failure (CI, where it must run).</summary>
    public const string RequireVariable = "DOORMAN_REQUIRE_JS_PEER";

    private static readonly Lazy<string?> Unavailable = new(FindWhyUnavailable);

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string PeerDirectory => Path.Combine(RepoRoot, "tests", "peer");

    public static string Script => Path.Combine(PeerDirectory, "crypto-peer.mjs");

    public static string? UnavailableReason => Unavailable.Value;

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bot.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no bot.sln above {AppContext.BaseDirectory}: the tests must run from a checkout of the repository");
    }

    private static string? FindWhyUnavailable()
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            node.StandardOutput.ReadToEnd();
            if (!node.WaitForExit(TimeSpan.FromSeconds(20)) || node.ExitCode != 0)
                return "`node --version` failed: the crypto peer needs Node.js 20 or later on the PATH";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Node.js is not on the PATH: the crypto peer needs it (Debian: apt-get install nodejs npm)";
        }
        foreach (var package in new[] { "@matrix-org/olm", "@matrix-org/matrix-sdk-crypto-wasm" })
        {
            if (!File.Exists(Path.Combine(PeerDirectory, "node_modules", package, "package.json")))
                return $"{package} is not installed for the crypto peer: run `npm ci --prefix tests/peer` in {RepoRoot}";
        }
        return null;
    }
}

/// <summary>
/// A test against the reference crypto: skipped, with the reason and the fix, when Node.js or the packages are
/// missing, unless <c>DOORMAN_REQUIRE_JS_PEER=1</c>, where it runs and fails saying the same.
/// </summary>
public sealed class CryptoPeerFactAttribute : FactAttribute
{
    public CryptoPeerFactAttribute()
    {
        if (CryptoPeerEnvironment.UnavailableReason is { } reason && !CryptoPeerEnvironment.Required)
            Skip = reason;
    }
}
