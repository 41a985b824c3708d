using Doorman.Sandbox;

namespace Doorman.Tests.EndToEnd;

/// <summary>The README's first command, `dotnet run --project src/Doorman.Sandbox`, tells its whole story.</summary>
public sealed class SandboxStoryTests
{
    [Fact]
    public async Task The_story_runs_to_the_end_on_LND() => await RunAsync(btcPay: false);

    [Fact]
    public async Task The_story_runs_to_the_end_on_BTCPay() => await RunAsync(btcPay: true);

    private static async Task RunAsync(bool btcPay)
    {
        using var output = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var exit = await new SandboxStory(output, serve: false, btcPay).RunAsync(timeout.Token);
        var text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("bob is invited to the room", text, StringComparison.Ordinal);
        Assert.Contains("the bot removed bob", text, StringComparison.Ordinal);
        Assert.Contains("Done: gate → ask → pay → invite → expire → remove", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(bot log, error)", text, StringComparison.Ordinal);
    }
}
