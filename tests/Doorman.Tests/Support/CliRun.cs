using Doorman.Hosting;
using Xunit.Abstractions;

namespace Doorman.Tests.Support;

/// <summary>The command line (Hosting/Cli.cs) run in-process: its exit code and its output's lines, echoed to the test's output.</summary>
internal static class CliRun
{
    public static async Task<(int Exit, string[] Lines)> RunAsync(ITestOutputHelper output, params string[] args)
    {
        using var writer = new StringWriter();
        var exit = await Cli.RunAsync(args, writer, writer, CancellationToken.None);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var line in lines)
            output.WriteLine(line);
        return (exit, lines);
    }
}
