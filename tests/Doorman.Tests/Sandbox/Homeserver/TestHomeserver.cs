using Doorman.Sandbox.Homeserver;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// The homeserver a test talks to. <see cref="StartAsync"/> gives a fresh sandbox, or, when the environment names
/// one in <c>DOORMAN_HS_CROSSCHECK_URL</c>, a real homeserver (our test Synapse), so the behaviour tests can be
/// run unchanged against Synapse. Tests that need the sandbox's own knobs (fault injection, a fake clock,
/// direct inspection) use <see cref="StartSandboxAsync"/>.
/// </summary>
public sealed class TestHomeserver : IAsyncDisposable
{
    public const string SharedSecret = "doorman-test-shared-secret";

    private TestHomeserver(SandboxHomeserver? sandbox, Uri url, string sharedSecret)
    {
        SandboxOrNull = sandbox;
        Client = new MatrixTestClient(url, sharedSecret);
    }

    public MatrixTestClient Client { get; }

    public SandboxHomeserver? SandboxOrNull { get; }

    public SandboxHomeserver Sandbox => SandboxOrNull ?? throw new InvalidOperationException("not a sandbox");

    public static async Task<TestHomeserver> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("DOORMAN_HS_CROSSCHECK_URL") is { Length: > 0 } url)
        {
            var secret = Environment.GetEnvironmentVariable("DOORMAN_HS_CROSSCHECK_SECRET") ?? SharedSecret;
            return new TestHomeserver(null, new Uri(url), secret);
        }

        return await StartSandboxAsync();
    }

    public static async Task<TestHomeserver> StartSandboxAsync(SandboxHomeserverOptions? options = null)
    {
        options ??= new SandboxHomeserverOptions();
        options.RegistrationSharedSecret ??= SharedSecret;
        var sandbox = await SandboxHomeserver.StartAsync(options);
        return new TestHomeserver(sandbox, sandbox.Url, options.RegistrationSharedSecret);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (SandboxOrNull is not null)
        {
            await SandboxOrNull.DisposeAsync();
        }
    }
}
