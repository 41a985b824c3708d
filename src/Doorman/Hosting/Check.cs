using System.Net;
using System.Net.Sockets;
using Dapper;
using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Payments;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Doorman.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Doorman.Hosting;

/// <summary>
/// <c>doorman check</c>: builds the bot's services without starting any of them and prints one line per check,
/// <c>✓ what</c> or <c>✗ what: problem. fix</c>. It changes nothing: no migration is applied, no Matrix login is
/// made and no encryption keys are published (whoami and /versions only), no invoice is created, no webhook is
/// registered, and the listener's address is bound only for a moment. Never prints a secret. Exit 0 when all pass.
/// </summary>
public static class Check
{
    public static async Task<int> RunAsync(string[] config, TextWriter output, CancellationToken cancellationToken)
    {
        var report = new Report(output);
        var builder = DoormanApp.CreateBuilder(config);
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        var services = app.Services;
        try
        {
            DoormanApp.ValidateConfiguration(services, PaymentsSetup.IsBtcPay(builder.Configuration));
            report.Pass("configuration valid");
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
                report.Fail("configuration valid", failure, "Fix the key named, in appsettings.json, the environment or the command line");
            report.Fail("other checks", "not run", "Fix the configuration first");
            return 1;
        }

        var database = services.GetRequiredService<Database>();
        var migrated = await DatabaseAsync(report, database, cancellationToken);
        var bot = await HomeserverAsync(report, services, migrated ? database : null, cancellationToken);
        await PaymentsAsync(report, services, cancellationToken);
        Listener(report, services.GetRequiredService<IConfiguration>().GetSection(HttpOptions.Section).Get<HttpOptions>()?.Urls ?? new HttpOptions().Urls);
        await GatedRoomsAsync(report, services, migrated ? database : null, bot, cancellationToken);
        return report.Failed ? 1 : 0;
    }

    /// <summary>
    /// Versions in <c>schema_migrations</c>; null when the SQLite file does not exist. Opens the file without creating
    /// it; on PostgreSQL, an empty database has none.
    /// </summary>
    internal static async Task<HashSet<string>?> AppliedMigrationsAsync(Database database, CancellationToken cancellationToken)
    {
        if (database.FilePath is { } path)
        {
            if (!File.Exists(path))
                return null;
            await using var connection = Open(path);
            await connection.OpenAsync(cancellationToken);
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") == 0)
                return [];
            return [.. await connection.QueryAsync<string>("SELECT version FROM schema_migrations")];
        }
        return await database.ReadAsync<HashSet<string>>(async tx =>
            await tx.ExecuteScalarAsync<string?>("SELECT to_regclass('schema_migrations')::text") is null
                ? []
                : [.. await tx.QueryAsync<string>("SELECT version FROM schema_migrations")], cancellationToken);
    }

    private static SqliteConnection Open(string path) => new(new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWrite, // never creates the file
        Pooling = false,
        DefaultTimeout = 5,
    }.ToString());

    /// <summary>Writable (a write lock taken and released) and migrated; true when the gated rooms can be read.</summary>
    private static async Task<bool> DatabaseAsync(Report report, Database database, CancellationToken cancellationToken)
    {
        var available = Migrator.Migrations(database.Provider).Select(m => m.Version).ToList();
        if (database.FilePath is { } path)
        {
            if (!await SqliteWritableAsync(report, path, available.Count, cancellationToken))
                return false;
        }
        else
        {
            try
            {
                // A write transaction takes the bot's write lock and rolls back, writing nothing.
                await using var connection = await database.OpenAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = Database.WriteLockKey }, transaction);
                await transaction.RollbackAsync(cancellationToken);
                report.Pass($"database reachable ({database.Name})");
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or ArgumentException)
            {
                report.Fail("database reachable", $"{database.Name}: {e.Message}",
                    "Check Storage:ConnectionString: host, port, database, user and password, and that PostgreSQL accepts this host (pg_hba.conf)");
                return false;
            }
        }

        var applied = await AppliedMigrationsAsync(database, cancellationToken) ?? [];
        var missing = available.Where(v => !applied.Contains(v)).ToList();
        var unknown = applied.Where(v => !available.Contains(v)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            report.Fail("migrations current", $"the database has migrations this Doorman does not know ({string.Join(", ", unknown)})",
                "It was used by a newer Doorman: run that version, or restore a backup made for this one");
        else if (missing.Count > 0)
            report.Fail("migrations current", $"{missing.Count} of {available.Count} not applied ({string.Join(", ", missing)})",
                "Run `doorman migrate` (the bot also applies them at start)");
        else
            report.Pass($"migrations current ({available.Count} of {available.Count}, latest {available[^1]})");
        return missing.Count == 0 && unknown.Count == 0;
    }

    /// <summary>The SQLite file exists, is writable by this user, and its write lock can be taken.</summary>
    private static async Task<bool> SqliteWritableAsync(Report report, string path, int available, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            report.Fail("database writable, migrations current", $"{path} does not exist yet (0 of {available} migrations applied)",
                "Run `doorman migrate` to create it (the bot also does at start); check Storage:Path if it should exist");
            return false;
        }
        try
        {
            await using (var connection = Open(path))
            {
                await connection.OpenAsync(cancellationToken);
                if (SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") == 1)
                {
                    report.Fail("database writable", $"{path} is read-only for this user", "Give the bot's user write access to the file and its folder");
                    return false;
                }
                // Takes the write lock and releases it, writing nothing.
                await connection.ExecuteAsync("BEGIN IMMEDIATE; ROLLBACK;");
            }
            report.Pass($"database writable ({path})");
            return true;
        }
        catch (SqliteException e)
        {
            report.Fail("database writable", $"{path}: {e.Message}", "Check the file's permissions and that no other program holds it locked");
            return false;
        }
    }

    /// <summary>Reachable, versions supported, token valid. Returns the bot's user id when its token works, for the room checks.</summary>
    private static async Task<string?> HomeserverAsync(Report report, IServiceProvider services, Database? database, CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<IOptions<MatrixOptions>>().Value;
        var address = services.GetRequiredService<HomeserverAddress>();
        var matrix = services.GetRequiredService<MatrixClient>();
        if (!address.IsKnown)
        {
            try
            {
                address.BaseUrl = await Discovery.DiscoverAsync(services.GetRequiredService<IHttpClientFactory>().CreateClient(HomeserverSetup.DiscoveryClient),
                    options.ServerName, cancellationToken);
            }
            catch (Exception e) when (e is MatrixDiscoveryException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                report.Fail("homeserver reachable", $"cannot find the homeserver for {options.ServerName} ({e.Message})", "Set Matrix:HomeserverUrl");
                return null;
            }
        }

        Matrix.Rooms.VersionsResponse versions;
        try
        {
            versions = await matrix.GetVersionsAsync(cancellationToken);
            report.Pass($"homeserver reachable ({address.BaseUrl})");
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
            report.Fail("homeserver reachable", $"{address.BaseUrl}: {e.Message}", "Check Matrix:HomeserverUrl and that the homeserver is up");
            return null;
        }

        // Doorman calls the /v3 endpoints, which arrived with Matrix v1.1.
        var spoken = versions.Versions.Where(v => MinorOfV1(v) is not null).OrderBy(v => MinorOfV1(v)).ToList();
        if (spoken.Count == 0 || MinorOfV1(spoken[^1]) < 1)
            report.Fail("homeserver versions supported", $"it speaks {(versions.Versions.Count == 0 ? "no version" : string.Join(", ", versions.Versions))}",
                "Doorman needs Matrix v1.1 or later: upgrade the homeserver");
        else
            report.Pass($"homeserver versions supported (up to {spoken[^1]}{(MinorOfV1(spoken[^1]) < 11 ? "; before v1.11 media goes through the legacy API" : "")})");

        var tokens = services.GetRequiredService<AccessTokenSource>();
        string source;
        if (options.Password.Length > 0)
        {
            var stored = database is null ? null
                : await database.ReadAsync(tx => services.GetRequiredService<Cursors>().GetAsync(tx, MatrixSession.StoredToken), cancellationToken);
            if (stored is null)
            {
                report.Pass($"password login configured for {options.UserId} (not tried: a login adds a device; the bot logs in at start)");
                return null;
            }
            tokens.Set(stored);
            source = "the token stored from the Matrix:Password login";
        }
        else
        {
            source = "Matrix:AccessToken";
        }

        try
        {
            var me = await matrix.WhoAmIAsync(cancellationToken);
            if (me.UserId != options.UserId)
            {
                report.Fail("token valid (whoami)", $"{source} belongs to {me.UserId}, not to Matrix:UserId {options.UserId}",
                    "Set Matrix:UserId to the bot's id, or configure the bot account's token");
                return null;
            }
            report.Pass($"token valid (whoami: {me.UserId}, device {me.DeviceId ?? "?"})");
            return me.UserId;
        }
        catch (MatrixException e) when (e.IsUnknownToken || e.ErrorCode == ErrorCodes.MissingToken)
        {
            if (options.Password.Length > 0)
                report.Pass($"password login configured for {options.UserId} ({source} was refused; not tried: the bot logs in again at start)");
            else
                report.Fail("token valid (whoami)", $"the homeserver does not accept {source} ({e.ErrorCode})",
                    "Log the bot account in and set Matrix:AccessToken to its token, or set Matrix:Password instead");
            return null;
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
            report.Fail("token valid (whoami)", e.Message, "Check that the homeserver is up");
            return null;
        }
    }

    private static int? MinorOfV1(string version) =>
        version.StartsWith("v1.", StringComparison.Ordinal) && int.TryParse(version[3..], out var minor) ? minor : null;

    private static bool Unreachable(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or MatrixException or TimeoutException or Polly.Timeout.TimeoutRejectedException
        || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    private static async Task PaymentsAsync(Report report, IServiceProvider services, CancellationToken cancellationToken)
    {
        var backend = services.GetRequiredService<IPaymentBackend>();
        try
        {
            if (backend is LndPaymentBackend lnd)
            {
                await lnd.ProbeAsync(cancellationToken);
                report.Pass("payment backend LND reachable, the macaroon may read invoices (creating one is not tried: it would add an invoice)");
                return;
            }
            await backend.CheckHealthAsync(cancellationToken);
            report.Pass($"payment backend {backend.Name} reachable, with the permissions it needs");
        }
        catch (PaymentBackendException e)
        {
            report.Fail($"payment backend {backend.Name}", e.Message,
                e.IsTransient ? "Start the node or server, or fix its address in Payments:*" : "");
            return;
        }

        if (backend is BtcPayPaymentBackend)
            await BtcPayFeedAsync(report, services, cancellationToken);
    }

    /// <summary>How the bot learns of BTCPay payments: its own webhook, one made by hand, or polling.</summary>
    private static async Task BtcPayFeedAsync(Report report, IServiceProvider services, CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<IOptions<BtcPayOptions>>().Value;
        var ways = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.PublicUrl))
        {
            var url = options.PublicUrl.Trim().TrimEnd('/') + BtcPayWebhookEndpoint.Path;
            var hooks = await services.GetRequiredService<GreenfieldClient>().GetWebhooksAsync(cancellationToken);
            ways.Add(hooks.Any(h => string.Equals(h.Url, url, StringComparison.OrdinalIgnoreCase))
                ? $"webhook registered for {url}"
                : $"webhook for {url} not registered yet (the bot registers it at start)");
        }
        else if (options.WebhookSecret is not null)
        {
            ways.Add("a webhook made by hand (Payments:BtcPay:WebhookSecret)");
        }
        if (options.PollInterval is { } poll)
            ways.Add($"polling every {poll}");
        report.Pass("BTCPay payments are seen by " + string.Join(" and ", ways));
    }

    /// <summary>Binds each configured address for a moment, as Kestrel would, and releases it.</summary>
    private static void Listener(Report report, string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal),
                    UriKind.Absolute, out var uri))
            {
                report.Fail("HTTP listener address free", $"Http:Urls has '{url}', which is not a URL", "Set Http:Urls to e.g. http://0.0.0.0:8080");
                continue;
            }
            var ip = uri.Host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed : IPAddress.Any;
            var listener = new TcpListener(ip, uri.Port);
            try
            {
                listener.Start();
                report.Pass($"HTTP listener address free ({url})");
            }
            catch (SocketException e)
            {
                report.Fail("HTTP listener address free", $"{url}: {e.SocketErrorCode}",
                    "Stop what listens there (a running Doorman?) or set Http:Urls to another address");
            }
            finally
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Every gated room: the bot is joined and may invite and kick (power levels as <see cref="Matrix.Rooms.RoomPower"/> reads them).</summary>
    private static async Task GatedRoomsAsync(Report report, IServiceProvider services, Database? database, string? bot, CancellationToken cancellationToken)
    {
        if (database is null)
        {
            report.Fail("gated rooms", "not checked", "They are read from the database: fix the database first");
            return;
        }
        var store = services.GetRequiredService<GateStore>();
        var gates = await database.ReadAsync(async tx =>
        {
            var list = new List<Gate>();
            foreach (var id in await store.EnabledRoomIdsAsync(tx))
                if (await store.GetAsync(tx, id) is { } gate)
                    list.Add(gate);
            return list;
        }, cancellationToken);
        if (gates.Count == 0)
        {
            report.Pass("gated rooms: none yet");
            return;
        }
        if (bot is null)
        {
            report.Fail("gated rooms", $"{gates.Count} not checked", "The homeserver must accept the bot's token first (see above)");
            return;
        }

        var matrix = services.GetRequiredService<MatrixClient>();
        var joined = (await matrix.GetJoinedRoomsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        foreach (var gate in gates)
        {
            var what = $"room {gate.RoomName} ({gate.RoomId})";
            if (!joined.Contains(gate.RoomId))
            {
                report.Fail(what, "the bot is not joined", $"Invite {bot} to the room (it accepts), or turn the gate off");
                continue;
            }
            var power = await matrix.GetRoomPowerAsync(gate.RoomId, null, cancellationToken);
            var level = power.LevelOf(bot);
            if (power.CanInvite(bot) && level >= power.KickLevel)
                report.Pass($"{what}: joined, may invite and kick");
            else
                report.Fail(what, $"the bot has power level {level}; inviting needs {power.InviteLevel} and kicking {power.KickLevel}",
                    $"Give {bot} power level {Math.Max(power.InviteLevel, power.KickLevel)} or more (room settings → Roles & permissions)");
        }
    }

    private sealed class Report(TextWriter output)
    {
        public bool Failed { get; private set; }

        public void Pass(string what) => output.WriteLine("✓ " + what);

        public void Fail(string what, string problem, string fix)
        {
            Failed = true;
            output.WriteLine($"✗ {what}: {problem.TrimEnd('.', ' ')}.{(fix.Length > 0 ? " " + fix : "")}");
        }
    }
}
