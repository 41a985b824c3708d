using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>For test classes whose every test gets a fresh sandbox homeserver and a fresh <see cref="Scenario"/> on it.</summary>
public abstract class SandboxScenarioTests(ITestOutputHelper output) : IAsyncLifetime
{
    protected SandboxTestHomeserver Hs { get; private set; } = null!;

    protected Scenario S { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hs = await SandboxTestHomeserver.StartAsync();
        S = await Scenario.StartAsync(Hs, output);
    }

    public async Task DisposeAsync()
    {
        await S.DisposeAsync();
        await Hs.DisposeAsync();
    }
}
