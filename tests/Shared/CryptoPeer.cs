using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Doorman.TestSupport;

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

/// <summary>Where the crypto peer lives and whether it can run here (<see cref="NodePeers"/>).</summary>
public static class CryptoPeerEnvironment
{
    private static readonly Lazy<string?> Unavailable =
        new(() => NodePeers.WhyUnavailable("crypto peer", "@matrix-org/olm", "@matrix-org/matrix-sdk-crypto-wasm"));

    public static string PeerDirectory => NodePeers.PeerDirectory;

    public static string Script => Path.Combine(PeerDirectory, "crypto-peer.mjs");

    public static string? UnavailableReason => Unavailable.Value;

    public static bool Required => NodePeers.Required;
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
