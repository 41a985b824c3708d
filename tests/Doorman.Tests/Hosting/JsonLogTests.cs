using System.Diagnostics;
using System.Text.Json;
using Doorman.Tests.Support;

namespace Doorman.Tests.Hosting;

/// <summary>
/// <c>Logging:Console:FormatterName=json</c> (README "Logs"): the bot, run as operators run it, writes one JSON object per
/// log line, with its level, category and message.
/// </summary>
public sealed class JsonLogTests
{
    private static readonly string Bot = Path.Combine(AppContext.BaseDirectory, "Doorman.dll");

    [Fact]
    public async Task With_the_json_formatter_every_log_line_is_a_JSON_object()
    {
        using var dir = new TempDirectory();
        // A homeserver that is not there: the bot migrates its database (logging each step), then stops with a clear message.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        foreach (var argument in new[]
        {
            Bot, "--Matrix:UserId=@doorman:example.org", "--Matrix:AccessToken=not-a-token", "--Matrix:HomeserverUrl=http://127.0.0.1:9",
            $"--Storage:Path={Path.Combine(dir.Path, "doorman.db")}", "--Payments:Lnd:Address=https://127.0.0.1:9", "--Payments:Lnd:MacaroonHex=00",
            "--Logging:Console:FormatterName=json",
        })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("cannot reach the homeserver", await stderr, StringComparison.Ordinal);
        Assert.Contains(lines, line => line.Contains("Applied database migration 0001_initial", StringComparison.Ordinal));
        Assert.All(lines, line =>
        {
            using var entry = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.String, entry.RootElement.GetProperty("LogLevel").ValueKind);
            Assert.Equal(JsonValueKind.String, entry.RootElement.GetProperty("Category").ValueKind);
            Assert.Equal(JsonValueKind.String, entry.RootElement.GetProperty("Message").ValueKind);
        });
        Assert.DoesNotContain("not-a-token", await stdout + await stderr, StringComparison.Ordinal);
    }
}
