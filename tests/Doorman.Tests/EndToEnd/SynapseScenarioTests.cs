using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// A scenario on the real Synapse named by <c>DOORMAN_SYNAPSE_URL</c> (tests/synapse/synapse.sh), started when there is
/// one and the class's peers can run (<see cref="CanRun"/>); otherwise the tests' attributes skip them.
/// </summary>
public abstract class SynapseScenarioTests(ITestOutputHelper output, Func<string, Task<ITestPayments>>? payments = null) : IAsyncLifetime
{
    private Scenario? _scenario;

    protected ITestOutputHelper Output { get; } = output;

    protected Scenario S => _scenario ?? throw new InvalidOperationException("no scenario: there is no Synapse, or a peer it needs cannot run here");

    /// <summary>Whatever else the tests need, beyond Synapse; when false, no scenario is started (the tests skip).</summary>
    protected virtual bool CanRun => true;

    public async Task InitializeAsync()
    {
        if (SynapseTestHomeserver.FromEnvironment() is { } synapse && CanRun)
            _scenario = await Scenario.StartAsync(synapse, Output, payments);
    }

    public async Task DisposeAsync()
    {
        if (_scenario is not null)
        {
            await _scenario.DisposeAsync();
            await _scenario.Homeserver.DisposeAsync();
        }
    }
}
