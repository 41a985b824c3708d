using Doorman.BenchShared;
using Doorman.Sandbox;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;

namespace Doorman.Settle;

/// <summary>
/// What every settle run stands on, as in <c>src/Doorman.Sandbox/SandboxStory.cs</c>: the homeserver (the sandbox's,
/// or a real Synapse with accounts made by its registration shared secret), the sandbox LND node, the bot's account
/// exempt from rate limits, an owner, and the real bot embedded in this process on the run's
/// database with a <see cref="MembershipStamp"/> on its invites.
/// </summary>
internal sealed class SettleWorld : IAsyncDisposable
{
    private readonly SandboxHomeserver? _sandbox;
    private readonly SynapseAdmin? _admin;

    private SettleWorld(SandboxHomeserver? sandbox, SynapseAdmin? admin, Uri homeserverUrl, SandboxLightningNode lightning)
    {
        _sandbox = sandbox;
        _admin = admin;
        HomeserverUrl = homeserverUrl;
        Lightning = lightning;
    }

    public Uri HomeserverUrl { get; }

    public SandboxLightningNode Lightning { get; }

    public string BotUserId { get; private set; } = "";

    public Player Owner { get; private set; } = null!;

    public EmbeddedBot Bot { get; private set; } = null!;

    public MembershipStamp Invites { get; } = new();

    /// <summary>The bot's kick requests (bench/load's sweep).</summary>
    public MembershipStamp Kicks { get; } = new("kick");

    private IReadOnlyDictionary<string, string?> _settings = new Dictionary<string, string?>();

    /// <summary>Where the homeserver is, for the report.</summary>
    public string Describe() => _sandbox is null ? "Synapse at " + HomeserverUrl : "the sandbox homeserver";

    public static async Task<SettleWorld> StartAsync(Uri? synapse, string synapseSecret, BenchStorage storage, string dataDir,
        IReadOnlyDictionary<string, string?>? extraSettings, CancellationToken cancellationToken)
    {
        var sandbox = synapse is null ? await SandboxHomeserver.StartAsync(new SandboxHomeserverOptions(), cancellationToken) : null;
        var admin = synapse is null ? null : new SynapseAdmin(synapse, synapseSecret);
        var lightning = await SandboxLightningNode.StartAsync(new SandboxLightningOptions(), cancellationToken);
        var world = new SettleWorld(sandbox, admin, synapse ?? sandbox!.Url, lightning);
        try
        {
            var lndFiles = lightning.WriteFiles(Path.Combine(dataDir, "lnd"));
            var bot = await world.RegisterAsync("doorman", cancellationToken);
            world.BotUserId = bot.UserId;
            if (sandbox is not null)
                sandbox.ExemptFromRateLimits(bot.UserId);
            else
                await admin!.ExemptFromRateLimitsAsync(bot.UserId, cancellationToken);
            var ownerAccount = await world.RegisterAsync("owner", cancellationToken);
            world.Owner = new Player("owner", world.HomeserverUrl, ownerAccount.UserId, ownerAccount.AccessToken);

            var settings = new Dictionary<string, string?>(storage.Settings)
            {
                ["Matrix:HomeserverUrl"] = world.HomeserverUrl.ToString(),
                ["Matrix:UserId"] = bot.UserId,
                ["Matrix:AccessToken"] = bot.AccessToken,
                ["Http:Urls"] = "http://127.0.0.1:0",
                ["Payments:Backend"] = "Lnd",
                ["Payments:Lnd:Address"] = lightning.Address.ToString(),
                ["Payments:Lnd:MacaroonPath"] = Path.Combine(lndFiles, "invoice.macaroon"),
                ["Payments:Lnd:TlsCertPath"] = Path.Combine(lndFiles, "tls.cert"),
            };
            foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
                settings[key] = value;
            world._settings = settings;
            await world.StartBotAsync(cancellationToken);
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    private async Task StartBotAsync(CancellationToken cancellationToken) =>
        Bot = await EmbeddedBot.StartAsync(_settings,
            logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(),
            services => services.AddSingleton(Invites.Filter()).AddSingleton(Kicks.Filter()), cancellationToken);

    /// <summary>Stops the bot gracefully and starts it again on the same database (bench/load seeds it in between).</summary>
    public async Task StopBotAsync()
    {
        await Bot.DisposeAsync();
        Bot = null!;
    }

    public Task RestartBotAsync(CancellationToken cancellationToken) => StartBotAsync(cancellationToken);

    public async Task<(string UserId, string AccessToken)> RegisterAsync(string name, CancellationToken cancellationToken)
    {
        if (_sandbox is not null)
        {
            var account = _sandbox.RegisterUser(name);
            return (account.UserId, account.AccessToken);
        }
        var (userId, token, _) = await _admin!.RegisterAsync(name, cancellationToken: cancellationToken);
        return (userId, token);
    }

    /// <summary>Exempts a member from the homeserver's rate limits (the burst's members each send a DM at once).</summary>
    public async Task ExemptAsync(string userId, CancellationToken cancellationToken)
    {
        if (_sandbox is not null)
            _sandbox.ExemptFromRateLimits(userId);
        else
            await _admin!.ExemptFromRateLimitsAsync(userId, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Bot is not null)
            await Bot.DisposeAsync();
        Owner?.Dispose();
        await Lightning.DisposeAsync();
        _admin?.Dispose();
        if (_sandbox is not null)
            await _sandbox.DisposeAsync();
    }
}
