using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Doorman.Replay;

/// <summary>
/// A homeserver for one bot, on 127.0.0.1, as far as a sync-and-reply bot sees it: <c>/versions</c>,
/// <c>whoami</c>, <c>capabilities</c>, <c>joined_rooms</c>, account data (none), filter upload, <c>/sync</c> from
/// the replay stream, and <c>PUT …/send/…</c>, which it records. Anything else is answered 404 M_UNRECOGNIZED, and
/// listed at the end so a bot that needs more is noticed.
/// </summary>
public sealed class ReplayServer(ReplayScript stream, Recorder recorder, string accessToken, CancellationToken stopping)
{
    private const string V3 = "/_matrix/client/v3/";
    private static readonly byte[] Versions = Utf8("""{"versions":["v1.1","v1.2","v1.3","v1.4","v1.5","v1.6","v1.7","v1.8","v1.9","v1.10","v1.11","v1.12"]}""");
    private static readonly byte[] WhoAmI = Utf8($$"""{"user_id":"{{ReplayScript.UserId}}","device_id":"REPLAY","is_guest":false}""");
    private static readonly byte[] Capabilities = Utf8("""{"capabilities":{"m.room_versions":{"default":"11","available":{"11":"stable","12":"stable"}}}}""");
    private static readonly byte[] Filter = Utf8("""{"filter_id":"1"}""");
    private readonly byte[] _joinedRooms = Utf8(JsonSerializer.Serialize(new Dictionary<string, IReadOnlyList<string>> { ["joined_rooms"] = stream.RoomIds }));
    private readonly Dictionary<string, byte[]> _empty = [];

    public HashSet<string> Unrecognized { get; } = [];

    public static async Task<(WebApplication App, Uri Url)> StartAsync(ReplayServer server)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (path == "/_matrix/client/versions")
        {
            await JsonAsync(context, HttpStatusCode.OK, Versions);
            return;
        }
        if (request.Headers.Authorization.ToString() != "Bearer " + accessToken)
        {
            await ErrorAsync(context, HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN", "Unknown access token");
            return;
        }
        if (!path.StartsWith(V3, StringComparison.Ordinal))
        {
            await UnrecognizedAsync(context);
            return;
        }
        var parts = path[V3.Length..].Split('/');
        switch (request.Method, parts)
        {
            case ("GET", ["sync"]):
                await SyncAsync(context);
                break;
            case ("PUT", ["rooms", var roomId, "send", var eventType, var txnId]):
                await SendAsync(context, roomId, eventType, txnId);
                break;
            case ("GET", ["account", "whoami"]):
                await JsonAsync(context, HttpStatusCode.OK, WhoAmI);
                break;
            case ("GET", ["capabilities"]):
                await JsonAsync(context, HttpStatusCode.OK, Capabilities);
                break;
            case ("GET", ["joined_rooms"]):
                await JsonAsync(context, HttpStatusCode.OK, _joinedRooms);
                break;
            case ("POST", ["user", _, "filter"]):
                await JsonAsync(context, HttpStatusCode.OK, Filter);
                break;
            case ("GET", ["user", _, "account_data", _]):
                await ErrorAsync(context, HttpStatusCode.NotFound, "M_NOT_FOUND", "Account data not found");
                break;
            default:
                await UnrecognizedAsync(context);
                break;
        }
    }

    private async Task SyncAsync(HttpContext context)
    {
        var since = context.Request.Query["since"].ToString();
        if (since.Length == 0)
        {
            recorder.Initial();
            await JsonAsync(context, HttpStatusCode.OK, stream.Initial);
            return;
        }
        if (!since.StartsWith('t') || !int.TryParse(since.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n < 1 || n > stream.Batches.Count + 1)
        {
            await ErrorAsync(context, HttpStatusCode.BadRequest, "M_UNKNOWN", "Invalid stream token");
            return;
        }
        if (n <= stream.Batches.Count)
        {
            recorder.Serving(n - 1);
            await JsonAsync(context, HttpStatusCode.OK, stream.Batches[n - 1]);
            return;
        }

        // The bot has handled every batch: hold its long-poll as a homeserver with nothing new would.
        recorder.EndReached();
        _ = int.TryParse(context.Request.Query["timeout"], NumberStyles.None, CultureInfo.InvariantCulture, out var timeoutMs);
        using var held = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        recorder.LongPoll(+1);
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(timeoutMs, 120_000)), held.Token);
        }
        catch (OperationCanceledException)
        {
            return; // the bot hung up or the run is over
        }
        finally
        {
            recorder.LongPoll(-1);
        }
        byte[] empty;
        lock (_empty)
        {
            if (!_empty.TryGetValue(since, out empty!))
                _empty[since] = empty = stream.Empty(since);
        }
        await JsonAsync(context, HttpStatusCode.OK, empty);
    }

    private async Task SendAsync(HttpContext context, string roomId, string eventType, string txnId)
    {
        var at = Stopwatch.GetTimestamp();
        string? msgType = null, inReplyTo = null;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var content = body.RootElement;
            if (content.ValueKind == JsonValueKind.Object)
            {
                if (content.TryGetProperty("msgtype", out var m) && m.ValueKind == JsonValueKind.String)
                    msgType = m.GetString();
                if (content.TryGetProperty("m.relates_to", out var relates) && relates.ValueKind == JsonValueKind.Object
                    && relates.TryGetProperty("m.in_reply_to", out var reply) && reply.ValueKind == JsonValueKind.Object
                    && reply.TryGetProperty("event_id", out var id) && id.ValueKind == JsonValueKind.String)
                    inReplyTo = id.GetString();
            }
        }
        catch (JsonException)
        {
            await ErrorAsync(context, HttpStatusCode.BadRequest, "M_NOT_JSON", "Content not JSON.");
            return;
        }
        var eventId = recorder.Reply(roomId, eventType, txnId, msgType, inReplyTo, at);
        await JsonAsync(context, HttpStatusCode.OK, Utf8($$"""{"event_id":"{{eventId}}"}"""));
    }

    private async Task UnrecognizedAsync(HttpContext context)
    {
        lock (Unrecognized)
            Unrecognized.Add(context.Request.Method + " " + context.Request.Path);
        await ErrorAsync(context, HttpStatusCode.NotFound, "M_UNRECOGNIZED", "Unrecognized request");
    }

    private static Task ErrorAsync(HttpContext context, HttpStatusCode status, string errcode, string error) =>
        JsonAsync(context, status, Utf8(JsonSerializer.Serialize(new Dictionary<string, string> { ["errcode"] = errcode, ["error"] = error })));

    private static async Task JsonAsync(HttpContext context, HttpStatusCode status, byte[] body)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
