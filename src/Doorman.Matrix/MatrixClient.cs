using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Doorman.Matrix.Events;
using Doorman.Matrix.Http;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Doorman.Matrix;

/// <summary>
/// A small, exact client of the Matrix Client-Server API (v1.12) for a bot: every method is one endpoint,
/// failures throw <see cref="MatrixException"/>, rate limits are waited out inside (see <see cref="MatrixResilience"/>).
/// Paths are escaped segment by segment: room ids, aliases and user ids contain ':', '!', '#', '@'.
/// </summary>
public sealed partial class MatrixClient : IDisposable
{
    private const string V3 = "_matrix/client/v3/";

    private readonly HttpClient _api;
    private readonly HttpClient _longPoll;
    private readonly HomeserverAddress _address;
    private readonly MatrixClientOptions _options;
    private readonly TimeProvider _time;
    private readonly IDisposable? _owned;

    /// <param name="api">Ordinary requests: auth and <see cref="MatrixResilience"/> handlers in its pipeline.</param>
    /// <param name="longPoll">/sync only: auth, no retries, no client timeout.</param>
    /// <param name="address">Where the homeserver is; it may be discovered after this client is made.</param>
    public MatrixClient(HttpClient api, HttpClient longPoll, HomeserverAddress address, MatrixClientOptions options, TimeProvider time)
        : this(api, longPoll, address, options, time, owned: null)
    {
    }

    private MatrixClient(HttpClient api, HttpClient longPoll, HomeserverAddress address, MatrixClientOptions options, TimeProvider time, IDisposable? owned)
    {
        _api = api;
        _longPoll = longPoll;
        _address = address;
        _options = options;
        _time = time;
        _owned = owned;
    }

    public Uri HomeserverUrl => _address.BaseUrl;

    /// <summary>What the server said it supports (<see cref="ProbeServerAsync"/>); until then, a current server is assumed.</summary>
    public ServerSupport Support { get; private set; } = ServerSupport.Current;

    /// <summary>A client outside dependency injection (test players, the sandbox, tools), with the same pipeline.</summary>
    public static MatrixClient Create(Uri homeserverUrl, string? accessToken, MatrixClientOptions? options = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        options ??= new MatrixClientOptions();
        time ??= TimeProvider.System;
        var primary = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var tokens = new AccessTokenSource(accessToken);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        MatrixResilience.Configure(builder, options, time, logger ?? NullLogger.Instance);
#pragma warning disable CA2000 // The handlers are owned by the clients, which the returned MatrixClient disposes.
        var gate = new PriorityGate(time, logger);
        var api = new HttpClient(new UrgentRequestHandler(gate)
        {
            InnerHandler = new ResilienceHandler(builder.Build()) { InnerHandler = new PriorityGateHandler(gate) { InnerHandler = new AccessTokenHandler(tokens) { InnerHandler = primary } } },
        }, disposeHandler: false)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var longPoll = new HttpClient(new AccessTokenHandler(tokens) { InnerHandler = primary }, disposeHandler: false)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
#pragma warning restore CA2000
        return new MatrixClient(api, longPoll, new HomeserverAddress(homeserverUrl), options, time, new Owned(api, longPoll, primary));
    }

    public void Dispose() => _owned?.Dispose();

    // ---- Discovery and session ----

    public Task<VersionsResponse> GetVersionsAsync(CancellationToken cancellationToken) =>
        GetAsync("_matrix/client/versions", MatrixJsonContext.Default.VersionsResponse, cancellationToken);

    /// <summary>CS API §"Capabilities negotiation": room versions and what the account may change.</summary>
    public Task<CapabilitiesResponse> GetCapabilitiesAsync(CancellationToken cancellationToken) =>
        GetAsync(V3 + "capabilities", MatrixJsonContext.Default.CapabilitiesResponse, cancellationToken);

    /// <summary>
    /// Reads <c>/versions</c> and <c>/capabilities</c> and gates features on them (e.g. authenticated media from
    /// v1.11). Call once after the access token is known.
    /// </summary>
    public async Task<ServerSupport> ProbeServerAsync(CancellationToken cancellationToken)
    {
        var versions = await GetVersionsAsync(cancellationToken);
        CapabilitiesResponse? capabilities = null;
        try
        {
            capabilities = await GetCapabilitiesAsync(cancellationToken);
        }
        catch (MatrixException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            // Very old servers lack /capabilities: the spec says to assume room version 1 then.
        }
        Support = ServerSupport.From(versions, capabilities);
        return Support;
    }

    /// <summary>
    /// Password login (CS API §"Login", <c>m.login.password</c>). Passing the device id of an earlier login keeps
    /// one device across restarts instead of adding a new one each time.
    /// </summary>
    public Task<LoginResponse> LoginWithPasswordAsync(string userId, string password, string? deviceId, string deviceDisplayName,
        CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, V3 + "login", Json(new LoginRequest
        {
            Identifier = new UserIdentifier { User = userId },
            Password = password,
            DeviceId = deviceId,
            InitialDeviceDisplayName = deviceDisplayName,
        }, MatrixJsonContext.Default.LoginRequest), MatrixJsonContext.Default.LoginResponse, idempotent: false, cancellationToken);

    /// <summary>CS API §"GET /account/whoami": who the access token belongs to.</summary>
    public Task<WhoAmI> WhoAmIAsync(CancellationToken cancellationToken) =>
        GetAsync(V3 + "account/whoami", MatrixJsonContext.Default.WhoAmI, cancellationToken);

    // ---- Sync ----

    /// <summary>Uploads a filter (CS API §"POST /user/{userId}/filter") and returns its id.</summary>
    public async Task<string> UploadFilterAsync(string userId, JsonElement filter, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Post, $"{V3}user/{E(userId)}/filter", Json(filter, MatrixJsonContext.Default.JsonElement),
            MatrixJsonContext.Default.FilterIdResponse, idempotent: true, cancellationToken);
        return response.FilterId;
    }

    /// <summary>
    /// One <c>GET /sync</c>. The request may be held by the server for <paramref name="timeout"/>; we give it
    /// <see cref="MatrixClientOptions.SyncGrace"/> more before treating the silence as a network failure.
    /// </summary>
    public async Task<SyncResponse> SyncAsync(string? since, string? filter, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var query = new StringBuilder(V3).Append("sync?set_presence=offline&timeout=")
            .Append(((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        if (since is not null)
            query.Append("&since=").Append(E(since));
        if (filter is not null)
            query.Append("&filter=").Append(E(filter));

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + _options.SyncGrace);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Url(query.ToString()));
            using var response = await _longPoll.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            return await ReadAsync(response, MatrixJsonContext.Default.SyncResponse, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our deadline, not the caller's: the long-poll hung. A timeout is not a shutdown (STYLE §5).
            throw new TimeoutException($"/sync did not answer within {timeout + _options.SyncGrace}");
        }
    }

    // ---- Membership ----

    /// <summary>
    /// Knocks on a room (CS API §"POST /_matrix/client/v3/knock/{roomIdOrAlias}": the room's join rule must be
    /// <c>knock</c> or <c>knock_restricted</c>); returns the room id. Used by the sandbox's players.
    /// </summary>
    public async Task<string> KnockAsync(string roomIdOrAlias, string? reason, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Post, $"{V3}knock/{E(roomIdOrAlias)}", Json(new Reason(reason), MatrixJsonContext.Default.Reason),
            MatrixJsonContext.Default.RoomIdResponse, idempotent: true, cancellationToken);
        return response.RoomId;
    }

    /// <summary>Joins by id or alias (CS API §"POST /join/{roomIdOrAlias}"); returns the room id.</summary>
    public async Task<string> JoinAsync(string roomIdOrAlias, IEnumerable<string>? via, string? reason, CancellationToken cancellationToken)
    {
        var path = new StringBuilder(V3).Append("join/").Append(E(roomIdOrAlias));
        var separator = '?';
        foreach (var server in via ?? [])
        {
            path.Append(separator).Append("via=").Append(E(server));
            separator = '&';
        }
        var response = await SendAsync(HttpMethod.Post, path.ToString(), Json(new Reason(reason), MatrixJsonContext.Default.Reason),
            MatrixJsonContext.Default.RoomIdResponse, idempotent: true, cancellationToken);
        return response.RoomId;
    }

    /// <summary>Leaves a room, or declines an invite, or withdraws a knock.</summary>
    public Task LeaveAsync(string roomId, string? reason, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{V3}rooms/{E(roomId)}/leave", Json(new Reason(reason), MatrixJsonContext.Default.Reason), idempotent: true, cancellationToken);

    public Task ForgetAsync(string roomId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{V3}rooms/{E(roomId)}/forget", Json(new Reason(null), MatrixJsonContext.Default.Reason), idempotent: true, cancellationToken);

    /// <summary>Invites a user; on a knock-rule room this also accepts their knock.</summary>
    public Task InviteAsync(string roomId, string userId, string? reason, CancellationToken cancellationToken) =>
        Moderate("invite", roomId, userId, reason, cancellationToken);

    /// <summary>Removes a user (membership leave); on a knock this declines it.</summary>
    public Task KickAsync(string roomId, string userId, string? reason, CancellationToken cancellationToken) =>
        Moderate("kick", roomId, userId, reason, cancellationToken);

    public Task BanAsync(string roomId, string userId, string? reason, CancellationToken cancellationToken) =>
        Moderate("ban", roomId, userId, reason, cancellationToken);

    public Task UnbanAsync(string roomId, string userId, string? reason, CancellationToken cancellationToken) =>
        Moderate("unban", roomId, userId, reason, cancellationToken);

    private Task Moderate(string action, string roomId, string userId, string? reason, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{V3}rooms/{E(roomId)}/{action}",
            Json(new UserReason(userId, reason), MatrixJsonContext.Default.UserReason), idempotent: true, cancellationToken);

    public async Task<IReadOnlyList<string>> GetJoinedRoomsAsync(CancellationToken cancellationToken) =>
        (await GetAsync(V3 + "joined_rooms", MatrixJsonContext.Default.JoinedRoomsResponse, cancellationToken)).JoinedRooms;

    /// <summary>Member events of a room, optionally only one membership (e.g. pending <c>knock</c>s after downtime).</summary>
    public async Task<IReadOnlyList<ClientEvent>> GetMembersAsync(string roomId, string? membership, CancellationToken cancellationToken)
    {
        var path = $"{V3}rooms/{E(roomId)}/members" + (membership is null ? "" : "?membership=" + E(membership));
        return (await GetAsync(path, MatrixJsonContext.Default.MembersResponse, cancellationToken)).Chunk;
    }

    /// <summary>A user's current membership in the room, or null if they never had one.</summary>
    public async Task<string?> GetMembershipAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        var content = await TryGetStateAsync(roomId, EventTypes.Member, userId, cancellationToken);
        return content is { ValueKind: JsonValueKind.Object } c && c.TryGetProperty("membership", out var m) ? m.GetString() : null;
    }

    // ---- Rooms ----

    public async Task<string> CreateRoomAsync(CreateRoomRequest request, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, V3 + "createRoom", Json(request, MatrixJsonContext.Default.CreateRoomRequest),
            MatrixJsonContext.Default.CreateRoomResponse, idempotent: false, cancellationToken)).RoomId;

    /// <summary>Resolves <c>#alias:server</c>; throws <see cref="MatrixException"/> 404 <c>M_NOT_FOUND</c> for an unknown alias.</summary>
    public Task<AliasResolution> ResolveAliasAsync(string alias, CancellationToken cancellationToken) =>
        GetAsync($"{V3}directory/room/{E(alias)}", MatrixJsonContext.Default.AliasResolution, cancellationToken);

    public Task SetAliasAsync(string alias, string roomId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{V3}directory/room/{E(alias)}",
            Json(JsonSerializer.SerializeToElement(new RoomIdResponse(roomId), MatrixJsonContext.Default.RoomIdResponse), MatrixJsonContext.Default.JsonElement),
            idempotent: true, cancellationToken);

    // ---- State ----

    /// <summary>The content of a state event; throws 404 <c>M_NOT_FOUND</c> when the room has none.</summary>
    public Task<JsonElement> GetStateAsync(string roomId, string eventType, string stateKey, CancellationToken cancellationToken) =>
        GetAsync($"{V3}rooms/{E(roomId)}/state/{E(eventType)}/{E(stateKey)}", MatrixJsonContext.Default.JsonElement, cancellationToken);

    /// <summary>As <see cref="GetStateAsync"/>, but null when the room has no such state event.</summary>
    public async Task<JsonElement?> TryGetStateAsync(string roomId, string eventType, string stateKey, CancellationToken cancellationToken)
    {
        try
        {
            return await GetStateAsync(roomId, eventType, stateKey, cancellationToken);
        }
        catch (MatrixException e) when (e.Status == HttpStatusCode.NotFound && e.ErrorCode == ErrorCodes.NotFound)
        {
            return null;
        }
    }

    /// <summary>All current state events of a room, with senders (the create event's sender is a creator).</summary>
    public async Task<IReadOnlyList<ClientEvent>> GetRoomStateAsync(string roomId, CancellationToken cancellationToken) =>
        await GetAsync($"{V3}rooms/{E(roomId)}/state", MatrixJsonContext.Default.ListClientEvent, cancellationToken);

    public async Task<string> SetStateAsync(string roomId, string eventType, string stateKey, JsonElement content, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Put, $"{V3}rooms/{E(roomId)}/state/{E(eventType)}/{E(stateKey)}",
            Json(content, MatrixJsonContext.Default.JsonElement), MatrixJsonContext.Default.EventIdResponse, idempotent: true, cancellationToken)).EventId;

    /// <summary>What the power rules need: the create event (with sender) and the live power levels.</summary>
    public async Task<RoomPower> GetRoomPowerAsync(string roomId, RoomCreation? knownCreation, CancellationToken cancellationToken)
    {
        var creation = knownCreation ?? await GetCreationAsync(roomId, cancellationToken);
        var levels = await TryGetStateAsync(roomId, EventTypes.PowerLevels, "", cancellationToken);
        return new RoomPower(creation, levels is { } l ? RoomPower.ParsePowerLevels(l) : null);
    }

    /// <summary>The room's <c>m.room.create</c> event. It never changes, so callers may cache it.</summary>
    public async Task<RoomCreation> GetCreationAsync(string roomId, CancellationToken cancellationToken)
    {
        // The state endpoint returns content only; the sender (a creator in every version) needs the event.
        var state = await GetRoomStateAsync(roomId, cancellationToken);
        var create = state.FirstOrDefault(e => e.Type == EventTypes.Create && e.StateKey == "")
            ?? throw new MatrixException(HttpStatusCode.NotFound, ErrorCodes.NotFound, $"{roomId} has no m.room.create event");
        return new RoomCreation(create.Sender, create.Content.Deserialize(MatrixJsonContext.Default.CreateContent) ?? new CreateContent());
    }

    // ---- Messages ----

    /// <summary>
    /// One page of a room's history (CS API v1.12 §"Getting events for a room",
    /// <c>GET /rooms/{roomId}/messages</c>): from <paramref name="from"/> (a sync's <c>prev_batch</c> or
    /// <c>next_batch</c>, or an earlier page's <see cref="MessagesResponse.End"/>; null for the newest or oldest end
    /// of the room) in <paramref name="direction"/>, stopping at <paramref name="to"/> when given, at most
    /// <paramref name="limit"/> events (the server's default is 10 and it may lower a large one: Synapse caps at
    /// 1,000), through <paramref name="filter"/> (a RoomEventFilter as JSON) when given. The server shows only what
    /// the user may see, and refuses a room the user was never in (403 <c>M_FORBIDDEN</c>). A GET: retried on
    /// transient failures. Malformed events are skipped and counted, as in /sync.
    /// </summary>
    public Task<MessagesResponse> GetMessagesAsync(string roomId, string? from, string? to, Direction direction, int? limit, string? filter,
        CancellationToken cancellationToken)
    {
        var path = new StringBuilder(V3).Append("rooms/").Append(E(roomId)).Append("/messages?dir=").Append(direction == Direction.Backward ? 'b' : 'f');
        if (from is not null)
            path.Append("&from=").Append(E(from));
        if (to is not null)
            path.Append("&to=").Append(E(to));
        if (limit is { } n)
            path.Append("&limit=").Append(n.ToString(CultureInfo.InvariantCulture));
        if (filter is not null)
            path.Append("&filter=").Append(E(filter));
        return GetAsync(path.ToString(), MatrixJsonContext.Default.MessagesResponse, cancellationToken);
    }

    /// <summary>
    /// The events a limited sync left out of a room's timeline (CS API v1.12 §"Syncing": a <c>limited</c> timeline
    /// has a gap before it, which /messages fills from its <c>prev_batch</c>): pages backwards from the timeline's
    /// <paramref name="prevBatch"/> down to <paramref name="since"/>, the <c>next_batch</c> of the batch before it,
    /// and returns them oldest first. Stops when the server has no further page, or after <paramref name="maxEvents"/>
    /// (then <see cref="TimelineGap.Complete"/> is false: the gap may hold older ones; the newest are kept). The
    /// server leaves out what the user may not see, such as what came after they left.
    /// </summary>
    public async Task<TimelineGap> GetTimelineGapAsync(string roomId, string prevBatch, string since, int maxEvents, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        const int pageSize = 100;
        var newestFirst = new List<ClientEvent>();
        var skipped = 0;
        var from = prevBatch;
        // A page may come back empty but with an end (Synapse, when the filter or history visibility removed all of
        // it): go on from that end. Each page moves the token, or we stop; the page count bounds a server that loops.
        for (var pages = 0; newestFirst.Count < maxEvents && pages <= maxEvents; pages++)
        {
            var page = await GetMessagesAsync(roomId, from, since, Direction.Backward, Math.Min(pageSize, maxEvents - newestFirst.Count), null, cancellationToken);
            newestFirst.AddRange(page.Chunk);
            skipped += page.Skipped;
            if (page.End is null || page.End == from)
                return new TimelineGap(Reversed(newestFirst), skipped, Complete: true);
            from = page.End;
        }
        return new TimelineGap(Reversed(newestFirst), skipped, Complete: false);

        static List<ClientEvent> Reversed(List<ClientEvent> events)
        {
            events.Reverse();
            return events;
        }
    }

    /// <summary>
    /// Sends a room event with the caller's transaction id (CS API §"PUT /rooms/{roomId}/send/{eventType}/{txnId}"):
    /// the homeserver answers a repeated id with the first event's id, so a resend after a crash is harmless.
    /// </summary>
    public async Task<string> SendEventAsync(string roomId, string eventType, string transactionId, JsonElement content, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Put, $"{V3}rooms/{E(roomId)}/send/{E(eventType)}/{E(transactionId)}",
            Json(content, MatrixJsonContext.Default.JsonElement), MatrixJsonContext.Default.EventIdResponse, idempotent: true, cancellationToken)).EventId;

    public async Task<string> SendMessageAsync(string roomId, string transactionId, MessageContent content, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Put, $"{V3}rooms/{E(roomId)}/send/{E(EventTypes.Message)}/{E(transactionId)}",
            Json(content, MatrixJsonContext.Default.MessageContent), MatrixJsonContext.Default.EventIdResponse, idempotent: true, cancellationToken)).EventId;

    // ---- Account data ----

    /// <summary>The user's account data of that type, or null when never set (only 404 means "none").</summary>
    public async Task<JsonElement?> TryGetAccountDataAsync(string userId, string type, CancellationToken cancellationToken)
    {
        try
        {
            return await GetAsync($"{V3}user/{E(userId)}/account_data/{E(type)}", MatrixJsonContext.Default.JsonElement, cancellationToken);
        }
        catch (MatrixException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task SetAccountDataAsync(string userId, string type, JsonElement content, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{V3}user/{E(userId)}/account_data/{E(type)}", Json(content, MatrixJsonContext.Default.JsonElement), idempotent: true, cancellationToken);

    // ---- Media ----

    /// <summary>Uploads a file (CS API §"POST /_matrix/media/v3/upload": upload was not moved to v1) and returns its <c>mxc://</c> URI.</summary>
    public async Task<string> UploadAsync(ReadOnlyMemory<byte> data, string contentType, string fileName, CancellationToken cancellationToken)
    {
        var body = new ReadOnlyMemoryContent(data);
        body.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return (await SendAsync(HttpMethod.Post, "_matrix/media/v3/upload?filename=" + E(fileName), body,
            MatrixJsonContext.Default.ContentUriResponse, idempotent: false, cancellationToken)).ContentUri;
    }

    /// <summary>Downloads through the authenticated media API (CS API v1.11 §"Content repository"); legacy v3 downloads 404 on current servers.</summary>
    public async Task<(byte[] Data, string? ContentType)> DownloadAsync(string mxcUri, CancellationToken cancellationToken)
    {
        if (!mxcUri.StartsWith("mxc://", StringComparison.Ordinal) || mxcUri.AsSpan(6).IndexOf('/') is var slash && slash <= 0)
            throw new ArgumentException($"not an mxc:// URI: {mxcUri}", nameof(mxcUri));
        var rest = mxcUri[6..];
        var server = rest[..slash];
        var mediaId = rest[(slash + 1)..];
        // Servers before v1.11 only have the legacy, unauthenticated path.
        var path = Support.AuthenticatedMedia
            ? $"_matrix/client/v1/media/download/{E(server)}/{E(mediaId)}"
            : $"_matrix/media/v3/download/{E(server)}/{E(mediaId)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(path));
        using var response = await _api.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await MatrixErrors.ReadAsync(response, _time, cancellationToken);
        return (await response.Content.ReadAsByteArrayAsync(cancellationToken), response.Content.Headers.ContentType?.MediaType);
    }

    // ---- Transport ----

    private static string E(string segment) => Uri.EscapeDataString(segment);

    private Uri Url(string relative) => new(_address.BaseUrl, relative);

    private static JsonContent Json<T>(T value, JsonTypeInfo<T> type) => JsonContent.Create(value, type);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(path));
        using var response = await _api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent body, JsonTypeInfo<T> type, bool idempotent, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Url(path)) { Content = body };
        request.Options.Set(MatrixResilience.Idempotent, idempotent);
        using var response = await _api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent body, bool idempotent, CancellationToken cancellationToken) =>
        await SendAsync(method, path, body, MatrixJsonContext.Default.JsonElement, idempotent, cancellationToken);

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
            throw await MatrixErrors.ReadAsync(response, _time, cancellationToken);
        try
        {
            return await ResponseBody.ReadJsonAsync(response.Content, type, cancellationToken)
                ?? throw new MatrixException(response.StatusCode, ErrorCodes.BadJson, $"{response.RequestMessage?.RequestUri?.AbsolutePath} answered null");
        }
        catch (JsonException e)
        {
            throw new MatrixException(response.StatusCode, ErrorCodes.BadJson,
                $"{response.RequestMessage?.RequestUri?.AbsolutePath} answered JSON we cannot read: {e.Message}");
        }
    }

    private sealed class Owned(params IDisposable[] parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts)
                part.Dispose();
        }
    }
}
