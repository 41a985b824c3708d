using Doorman.Matrix.Events;
using Doorman.Sandbox;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// One end-to-end world: a homeserver (sandbox or Synapse), the sandbox LND over TLS, the real bot in this
/// process with a SQLite file, and two people — an owner and a member — played through the client API.
/// </summary>
public sealed class Scenario : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly Uri _botUrl = new($"http://127.0.0.1:{FreePort.Next()}/");

    private Scenario(ITestHomeserver homeserver, ITestPayments payments, TempDirectory dir, ITestOutputHelper output,
        (string UserId, string Token) bot, Player owner, Player member, string ownerToken, string memberToken)
    {
        OwnerToken = ownerToken;
        MemberToken = memberToken;
        Homeserver = homeserver;
        Payments = payments;
        Dir = dir;
        _output = output;
        BotUserId = bot.UserId;
        BotToken = bot.Token;
        Owner = owner;
        Member = member;
    }

    public ITestHomeserver Homeserver { get; }

    /// <summary>The payment backend the bot uses, and the member's wallet.</summary>
    public ITestPayments Payments { get; }

    /// <summary>The sandbox LND, when that is the backend.</summary>
    public SandboxLightningNode Lightning => (Payments as LndTestPayments)?.Node ?? throw new InvalidOperationException($"the backend is {Payments.Kind}");

    public TempDirectory Dir { get; }

    public string BotUserId { get; }

    public string BotToken { get; }

    public Player Owner { get; }

    public Player Member { get; }

    /// <summary>For an independent client (the js-sdk peer) playing the same people.</summary>
    public string OwnerToken { get; }

    public string MemberToken { get; }

    /// <summary>Every line the bot has logged in this scenario, for assertions about what it did.</summary>
    public IReadOnlyList<string> BotLog => [.. _botLog];

    private readonly LogLineCollection _botLog = new();

    public EmbeddedBot? Bot { get; private set; }

    /// <summary>The bot's clock: the real one unless a test moves it ahead (of the payment node's, say).</summary>
    public SkewedClock BotClock { get; } = new();

    public string DatabasePath => Path.Combine(Dir.Path, "doorman.db");

    public static async Task<Scenario> StartAsync(ITestHomeserver homeserver, ITestOutputHelper output, Func<string, Task<ITestPayments>>? payments = null)
    {
        var dir = new TempDirectory();
        var backend = payments is null ? await LndTestPayments.StartAsync(Path.Combine(dir.Path, "lnd")) : await payments(dir.Path);
        var bot = await homeserver.RegisterAsync("doorman");
        var owner = await homeserver.RegisterAsync("owner");
        var member = await homeserver.RegisterAsync("member");
        return new Scenario(homeserver, backend, dir, output, bot,
            new Player("owner", homeserver.Url, owner.UserId, owner.AccessToken),
            new Player("member", homeserver.Url, member.UserId, member.AccessToken), owner.AccessToken, member.AccessToken);
    }

    public Dictionary<string, string?> Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>
            {
                ["Matrix:HomeserverUrl"] = Homeserver.Url.ToString(),
                ["Matrix:UserId"] = BotUserId,
                ["Matrix:AccessToken"] = BotToken,
                ["Storage:Path"] = DatabasePath,
                // A fixed port for the whole scenario: BTCPay calls the bot back on it, across restarts.
                ["Http:Urls"] = _botUrl.ToString().TrimEnd('/'),
            };
            Payments.Configure(settings, _botUrl);
            return settings;
        }
    }

    /// <summary>Applied to the settings at every start, before the start's own adjustments.</summary>
    public Action<Dictionary<string, string?>>? Configure { get; set; }

    /// <summary>Whether <see cref="BotLog"/> lines carry their exception's text, as the console logger prints it.</summary>
    public bool LogExceptions { get; set; }

    public async Task StartBotAsync(Action<Dictionary<string, string?>>? adjust = null)
    {
        var settings = Settings;
        Configure?.Invoke(settings);
        adjust?.Invoke(settings);
        Bot = await EmbeddedBot.StartAsync(settings, logging => logging.AddProvider(new XunitLoggerProvider(_output))
            .AddProvider(new RecordingLoggerProvider(_botLog, LogExceptions)).SetMinimumLevel(LogLevel.Debug)
            .AddFilter("System.Net.Http", LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning).AddFilter("Quartz", LogLevel.Warning)
            .AddFilter("Polly", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning),
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(BotClock)));
    }

    public async Task StopBotAsync()
    {
        if (Bot is { } bot)
        {
            await bot.DisposeAsync();
            Bot = null;
        }
    }

    /// <summary>The owner makes a room, invites the bot, gives it the power to invite and kick, and waits until it has joined.</summary>
    public async Task<(string RoomId, string Alias)> OwnerMakesRoomAsync(string? roomVersion = null, long botLevel = 50)
    {
        var localpart = "vip-" + Guid.NewGuid().ToString("N")[..8];
        var roomId = await Owner.CreateRoomAsync(localpart, roomVersion, "VIP lounge");
        await Owner.Client.InviteAsync(roomId, BotUserId, null, default);
        await Owner.WaitForMembershipAsync(roomId, BotUserId, Membership.Join, Patience);
        if (botLevel > 0)
            await Owner.SetPowerLevelAsync(roomId, BotUserId, botLevel);
        Log($"owner made {roomId} (#{localpart}), the bot joined and has power level {botLevel}");
        return (roomId, $"#{localpart}:{Homeserver.ServerName}");
    }

    /// <summary>The owner gates the room and waits for the bot's confirmation.</summary>
    public async Task<ClientEvent> OwnerGatesAsync(string roomId, string price)
    {
        var mark = Owner.Mark;
        await Owner.SayAsync(roomId, "!gate set " + price);
        var reply = await Owner.WaitForMessageAsync(roomId, body => body.Contains("now costs", StringComparison.Ordinal), Patience, after: mark);
        Log($"owner: !gate set {price} → bot: {Player.BodyOf(reply)}");
        return reply;
    }

    /// <summary>Someone else on the homeserver, for stories with more people than the owner and the member; the caller disposes it.</summary>
    public async Task<Player> AddPlayerAsync(string name)
    {
        var (userId, token) = await Homeserver.RegisterAsync(name);
        return new Player(name, Homeserver.Url, userId, token);
    }

    /// <summary>The member opens a DM with the bot and waits until it has joined.</summary>
    public async Task<string> MemberOpensDmAsync()
    {
        var dm = await Member.OpenDirectMessageAsync(BotUserId);
        await Member.WaitForMembershipAsync(dm, BotUserId, Membership.Join, Patience);
        Log($"member opened DM {dm} and the bot joined");
        return dm;
    }

    /// <summary>The member asks to join and waits for the invoice; returns the BOLT11.</summary>
    public async Task<string> MemberAsksToJoinAsync(string dm, string room)
    {
        var mark = Member.Mark;
        await Member.SayAsync(dm, "join " + room);
        var reply = await Member.WaitForMessageAsync(dm, body => Player.FindInvoice(body) is not null, Patience, after: mark);
        var bolt11 = Player.FindInvoice(Player.BodyOf(reply))!;
        Log($"member: join {room} → bot sent invoice {bolt11[..24]}…");
        return bolt11;
    }

    public void Log(string line)
    {
        try
        {
            _output.WriteLine($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} SCENARIO {line}");
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopBotAsync();
        Owner.Dispose();
        Member.Dispose();
        await Payments.DisposeAsync();
        Dir.Dispose();
    }
}
