using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Sandbox.Homeserver;

namespace Doorman.Tests.Matrix;

/// <summary>
/// The sandbox homeserver with two registered users, each with our Matrix client over loopback HTTP (quick transient
/// retries, so injected faults cost little time): the set-up of the client tests.
/// </summary>
public abstract class TwoUsersOnSandbox(string secondLocalpart) : IAsyncLifetime
{
    protected SandboxHomeserver Hs { get; private set; } = null!;

    protected SandboxUser Alice { get; private set; } = null!;

    /// <summary>The second user, registered as <c>secondLocalpart</c>.</summary>
    protected SandboxUser Second { get; private set; } = null!;

    protected MatrixClient AliceClient { get; private set; } = null!;

    protected MatrixClient SecondClient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hs = await SandboxHomeserver.StartAsync();
        Alice = Hs.RegisterUser("alice");
        Second = Hs.RegisterUser(secondLocalpart);
        var fast = new MatrixClientOptions { TransientRetryDelay = TimeSpan.FromMilliseconds(50) };
        AliceClient = MatrixClient.Create(Hs.Url, Alice.AccessToken, fast);
        SecondClient = MatrixClient.Create(Hs.Url, Second.AccessToken, fast);
    }

    public async Task DisposeAsync()
    {
        AliceClient.Dispose();
        SecondClient.Dispose();
        await Hs.DisposeAsync();
    }
}
