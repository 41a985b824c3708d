using System.Diagnostics;
using System.Globalization;

namespace Doorman.Replay;

/// <summary>The bot under test: started by the replay with the homeserver's address, measured through /proc, and ended by it.</summary>
public sealed class BotProcess : IDisposable
{
    private readonly Process _process;

    private BotProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static BotProcess Start(IReadOnlyList<string> command, Uri homeserver, string accessToken)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        start.Environment["MATRIX_HOMESERVER_URL"] = homeserver.ToString().TrimEnd('/');
        start.Environment["MATRIX_ACCESS_TOKEN"] = accessToken;
        return new BotProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {command[0]}"));
    }

    /// <summary>A size line of /proc/&lt;pid&gt;/status (VmRSS: resident now, VmHWM: resident at its peak), in MiB.</summary>
    public double StatusMiB(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Id}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024.0;
        }
        throw new InvalidDataException($"/proc/{Id}/status has no {field}");
    }

    /// <summary>CPU time the process used so far (user + system, all threads): fields 14 and 15 of /proc/&lt;pid&gt;/stat.</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields after the command name start at field 3 (state); utime is field 14, stime 15. Linux counts USER_HZ = 100.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    public async Task StopAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public void Dispose() => _process.Dispose();
}
