using Doorman.Matrix.Events;
using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Homeserver;
using EventTypes = Doorman.Matrix.Events.EventTypes;
using Membership = Doorman.Matrix.Events.Membership;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;

namespace Doorman.Sandbox;

/// <summary>
/// <c>dotnet run --project src/Doorman.Sandbox</c>: the whole loop with no infrastructure. An embedded
/// homeserver and Lightning node, the real bot, and two people: Alice gates a room, Bob pays to join, is
/// invited, and is removed when his (short) paid period ends. Every step is printed as it happens.
/// </summary>
public sealed class SandboxStory(TextWriter output, bool serve, bool btcPay = false)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly DateTimeOffset _started = TimeProvider.System.GetUtcNow();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-sandbox-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        using var loggerFactory = LoggerFactory.Create(l => l.AddProvider(new StoryLoggerProvider(output, "homeserver")).SetMinimumLevel(LogLevel.Warning));
        await using var homeserver = await SandboxHomeserver.StartAsync(new SandboxHomeserverOptions { LoggerFactory = loggerFactory }, cancellationToken);
        await using var lightning = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { LoggerFactory = loggerFactory }, cancellationToken);
        await using var store = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { LoggerFactory = loggerFactory }, cancellationToken);
        var lndFiles = lightning.WriteFiles(Path.Combine(dataDir, "lnd"));
        Say($"Embedded homeserver on {homeserver.Url} (server name {homeserver.ServerName})");
        Say(btcPay
            ? $"Embedded BTCPay Server (Greenfield API, signed webhooks) on {store.Url}"
            : $"Embedded Lightning node (LND's gRPC over TLS, macaroon required) on {lightning.Address}");

        var bot = homeserver.RegisterUser("doorman");
        var aliceAccount = homeserver.RegisterUser("alice");
        var bobAccount = homeserver.RegisterUser("bob");
        using var alice = new Player("alice", homeserver.Url, aliceAccount.UserId, aliceAccount.AccessToken);
        using var bob = new Player("bob", homeserver.Url, bobAccount.UserId, bobAccount.AccessToken);
        Say($"Accounts: the bot {bot.UserId}, Alice (room owner) {alice.UserId}, Bob (member) {bob.UserId}");

        var botUrl = $"http://127.0.0.1:{FreePort()}";
        var settings = new Dictionary<string, string?>
        {
            ["Matrix:HomeserverUrl"] = homeserver.Url.ToString(),
            ["Matrix:UserId"] = bot.UserId,
            ["Matrix:AccessToken"] = bot.AccessToken,
            ["Storage:Path"] = Path.Combine(dataDir, "doorman.db"),
            ["Http:Urls"] = botUrl,
        };
        if (btcPay)
        {
            settings["Payments:Backend"] = "BtcPay";
            settings["Payments:BtcPay:Url"] = store.Url.ToString();
            settings["Payments:BtcPay:StoreId"] = store.StoreId;
            settings["Payments:BtcPay:ApiKey"] = store.CreateApiKey(
                "btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices", "btcpay.store.webhooks.canmodifywebhooks");
            settings["Payments:BtcPay:PublicUrl"] = botUrl;
        }
        else
        {
            settings["Payments:Backend"] = "Lnd";
            settings["Payments:Lnd:Address"] = lightning.Address.ToString();
            settings["Payments:Lnd:MacaroonPath"] = Path.Combine(lndFiles, "invoice.macaroon");
            settings["Payments:Lnd:TlsCertPath"] = Path.Combine(lndFiles, "tls.cert");
        }
        await using var doorman = await EmbeddedBot.StartAsync(settings,
            logging => logging.AddProvider(new StoryLoggerProvider(output, "bot")).SetMinimumLevel(LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning).AddFilter("Quartz", LogLevel.Warning)
                .AddFilter("Polly", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning),
            cancellationToken: cancellationToken);
        Say($"The bot is running (database {settings["Storage:Path"]}, health check {doorman.HttpUrl}healthz)");

        Step("1. Alice creates #vip:localhost and invites the bot");
        var room = await alice.CreateRoomAsync("vip", name: "VIP lounge", cancellationToken: cancellationToken);
        await alice.Client.InviteAsync(room, bot.UserId, null, cancellationToken);
        await alice.WaitForMembershipAsync(room, bot.UserId, Membership.Join, Patience, cancellationToken);
        await ShowReplyAsync(alice, room, _ => true, 0, cancellationToken);
        await alice.SetPowerLevelAsync(room, bot.UserId, 50, cancellationToken);
        Say("   alice gives the bot power level 50, enough to invite and to remove members");

        Step("2. Alice gates the room: 100 sats per 15 seconds (a short period, so you can watch it end)");
        var mark = alice.Mark;
        await Says(alice, room, "the room", "!gate set 100 sats per 15s", cancellationToken);
        await ShowReplyAsync(alice, room, b => b.Contains("now costs", StringComparison.Ordinal), mark, cancellationToken);

        Step("3. Bob opens a DM with the bot and asks to join");
        var dm = await bob.OpenDirectMessageAsync(bot.UserId, cancellationToken);
        await bob.WaitForMembershipAsync(dm, bot.UserId, Membership.Join, Patience, cancellationToken);
        mark = bob.Mark;
        await Says(bob, dm, "the bot, in their DM", "join #vip:localhost", cancellationToken);
        var invoiceMessage = await ShowReplyAsync(bob, dm, b => Player.FindInvoice(b) is not null, mark, cancellationToken);
        var image = await bob.WaitForAsync(dm, e => e.Type == EventTypes.Message && e.ContentString("msgtype") == "m.image", Patience,
            "the QR code image", mark, cancellationToken);
        Say($"   bot → bob: [image] {image.ContentString("body")} ({image.ContentString("url")})");
        var bolt11 = Player.FindInvoice(Player.BodyOf(invoiceMessage))!;

        Step(btcPay ? "4. Bob pays the invoice from his wallet (the embedded BTCPay settles it and calls the bot's webhook)"
            : "4. Bob pays the invoice from his wallet (the embedded node settles it)");
        var paidAt = TimeProvider.System.GetUtcNow();
        if (btcPay)
            await store.PayAsync(bolt11, cancellationToken: cancellationToken);
        else
            await lightning.PayAsync(bolt11, cancellationToken: cancellationToken);
        await bob.WaitForInviteAsync(room, Patience, cancellationToken);
        Say($"   bob is invited to the room {(TimeProvider.System.GetUtcNow() - paidAt).TotalMilliseconds:F0} ms after paying");
        await bob.Client.JoinAsync(room, null, null, cancellationToken);
        Say("   bob joins");
        await ShowReplyAsync(bob, dm, b => b.Contains("welcome", StringComparison.OrdinalIgnoreCase), mark, cancellationToken);

        Step("5. Bob does not renew; his 15 seconds run out");
        var kick = await bob.WaitForMembershipAsync(room, bob.UserId, Membership.Leave, TimeSpan.FromSeconds(60), cancellationToken);
        Say($"   the bot removed bob {(TimeProvider.System.GetUtcNow() - paidAt).TotalSeconds:F1} s after he paid (reason: {kick.ContentString("reason")})");
        await ShowReplyAsync(bob, dm, b => b.Contains("renew", StringComparison.Ordinal), mark, cancellationToken);

        Step(btcPay ? "Done: gate → ask → pay → invite → expire → remove, through Matrix over HTTP, BTCPay's Greenfield API and webhooks, SQLite and Quartz."
            : "Done: gate → ask → pay → invite → expire → remove, through Matrix over HTTP, LND over gRPC/TLS, SQLite and Quartz.");
        if (serve)
        {
            Say("Still running (--serve). Point a Matrix client or curl at the homeserver; Ctrl+C stops everything.");
            Say($"   homeserver {homeserver.Url}   alice's token {aliceAccount.AccessToken}   bob's token {bobAccount.AccessToken}");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await doorman.StopAsync(CancellationToken.None);
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private async Task Says(Player who, string roomId, string where, string text, CancellationToken cancellationToken)
    {
        Say($"   {who.Name} → {where}: {text}");
        await who.SayAsync(roomId, text, cancellationToken);
    }

    private async Task<ClientEvent> ShowReplyAsync(Player who, string roomId, Func<string, bool> match, int after, CancellationToken cancellationToken)
    {
        var reply = await who.WaitForMessageAsync(roomId, match, Patience, after, cancellationToken);
        foreach (var line in Player.BodyOf(reply).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Say($"   bot → {who.Name}: {line}");
        return reply;
    }

    private static int FreePort()
    {
        // BTCPay calls the bot back, so the bot's address must be known before it starts.
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private void Step(string text)
    {
        output.WriteLine();
        Say(text);
    }

    private void Say(string text) => output.WriteLine($"[{(TimeProvider.System.GetUtcNow() - _started).TotalSeconds,5:F1}s] {text}");
}

/// <summary>Prints log lines of the embedded parts under the story, indented and tagged.</summary>
internal sealed class StoryLoggerProvider(TextWriter output, string tag) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new StoryLogger(output, tag);

    public void Dispose()
    {
    }

    private sealed class StoryLogger(TextWriter output, string tag) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            output.WriteLine($"          ({tag} log, {logLevel.ToString().ToLowerInvariant()}) {formatter(state, exception)}");
    }
}
