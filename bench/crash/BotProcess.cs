using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Doorman.Crash;

/// <summary>
/// The real bot, <c>dotnet Doorman.dll</c>, as a child process configured by environment variables (the keys of
/// appsettings.example.json with "__" for ":"), its output appended to one log file across all its lives. It can be
/// killed (SIGKILL: <see cref="Process.Kill()"/> on Linux), started again, and stopped gracefully (SIGTERM).
/// </summary>
internal sealed class BotProcess(string botDll, IReadOnlyDictionary<string, string> environment, string workingDirectory,
    string logPath, Uri httpUrl) : IDisposable
{
    private readonly Lock _logLock = new();
    private readonly StreamWriter _log = new(logPath, append: true) { AutoFlush = true };
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly long _origin = Stopwatch.GetTimestamp();
    private Process? _current;

    /// <summary>The running bot's process id (for its /proc/&lt;pid&gt;/status), or null when it is not running.</summary>
    public int? ProcessId => _current?.Id;

    /// <summary>Where the bot serves <c>/healthz</c> and <c>/metrics</c>.</summary>
    public Uri Url => httpUrl;

    /// <summary>The bot's log file (all its lives).</summary>
    public string LogPath => logPath;

    /// <summary>How many times the bot was started.</summary>
    public int Starts { get; private set; }

    public void Start()
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(botDll);
        // No appsettings.json of a developer's, no user secrets (Development only): just what this run sets.
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Starts++;
        Write($"===== harness: start #{Starts}, pid {process.Id}, at {Elapsed():F3} s");
        _current = process;
    }

    /// <summary>True when the bot ended by itself (an instance that lost the leader lock exits with 1, to be restarted).</summary>
    public bool HasExited => _current is { HasExited: true };

    /// <summary>What a supervisor (a restart policy) does with a bot that exited: notes its exit code and starts it again.</summary>
    public void Restart()
    {
        var process = _current ?? throw new InvalidOperationException("not started");
        process.WaitForExit();
        Write($"===== harness: pid {process.Id} exited by itself with code {process.ExitCode} at {Elapsed():F3} s; restarted");
        process.Dispose();
        _current = null;
        Start();
    }

    /// <summary>SIGKILL, and waits until the process is gone (its output drained).</summary>
    public void Kill()
    {
        var process = _current ?? throw new InvalidOperationException("not started");
        process.Kill();
        process.WaitForExit();
        Write($"===== harness: SIGKILL pid {process.Id} at {Elapsed():F3} s");
        process.Dispose();
        _current = null;
    }

    /// <summary>SIGTERM, as <c>docker stop</c> sends; waits for the bot to finish and returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var process = _current ?? throw new InvalidOperationException("not started");
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync(cancellationToken);
        }
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(timeout);
        await process.WaitForExitAsync(patience.Token);
        Write($"===== harness: stopped (SIGTERM) pid {process.Id}, exit code {process.ExitCode}, at {Elapsed():F3} s");
        var code = process.ExitCode;
        process.Dispose();
        _current = null;
        return code;
    }

    /// <summary>
    /// Whether the bot serves: <c>GET /healthz</c> answers 200 (its parts up: database, sync, payments, outbox) and
    /// the instance is not a standby (src/Doorman/Hosting/Health.cs: a standby answers 200 with role "standby").
    /// </summary>
    public async Task<bool> IsServingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(httpUrl, "healthz"), cancellationToken);
            if (!response.IsSuccessStatusCode)
                return false;
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return !(body.RootElement.TryGetProperty("role", out var role) && role.GetString() == "standby");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The sum of <c>doorman_outbox_depth</c> over its queues (messages, membership, inbox); null if unreachable.</summary>
    public async Task<double?> OutboxDepthAsync(CancellationToken cancellationToken)
    {
        try
        {
            var text = await _http.GetStringAsync(new Uri(httpUrl, "metrics"), cancellationToken);
            return text.Split('\n').Where(l => l.StartsWith("doorman_outbox_depth{", StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public void Note(string line) => Write($"===== harness: {line} at {Elapsed():F3} s");

    private double Elapsed() => Stopwatch.GetElapsedTime(_origin).TotalSeconds;

    private void Write(string? line)
    {
        if (line is null)
            return;
        lock (_logLock)
            _log.WriteLine(line);
    }

    /// <summary>The dotnet host running this harness (when started as <c>dotnet Doorman.Crash.dll</c>), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>
    /// The bot to run: <c>--bot</c>, else src/Doorman's build in this harness's configuration (the project reference
    /// builds it), found by walking up to bot.sln.
    /// </summary>
    internal static string Find(string? given)
    {
        if (given is not null)
            return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"--bot {given}: no such file");
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent?.Name ?? "Release";
        for (var dir = output; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bot.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "Doorman", "bin", configuration, output.Name, "Doorman.dll");
                if (File.Exists(dll))
                    return dll;
                break;
            }
        }
        throw new FileNotFoundException("the bot's build was not found: build src/Doorman, or pass --bot path/to/Doorman.dll");
    }

    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public void Dispose()
    {
        if (_current is { } process)
        {
            try
            {
                process.Kill();
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
        _http.Dispose();
        lock (_logLock)
            _log.Dispose();
    }
}
