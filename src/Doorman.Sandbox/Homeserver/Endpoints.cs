using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// The HTTP surface (CS API v1.12, paths under <c>/_matrix/client/v3</c> unless noted) mapped onto the engine.
/// One instance per listening run: its stopping token fires when the run ends, which aborts long-polls.
/// </summary>
internal sealed class Endpoints
{
    private const string V3 = "/_matrix/client/v3";

    private readonly HomeserverEngine _engine;
    private readonly FaultInjector _faults;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<Uri> _baseUrl;
    private readonly CancellationToken _stopping;
    private readonly Router _router = new();

    public Endpoints(HomeserverEngine engine, FaultInjector faults, ILogger logger, TimeProvider time, Func<Uri> baseUrl, CancellationToken stopping)
    {
        _engine = engine;
        _faults = faults;
        _logger = logger;
        _time = time;
        _baseUrl = baseUrl;
        _stopping = stopping;

        // Discovery and capabilities.
        _router.Map("GET", "/_matrix/client/versions", Versions, requiresAuth: false);
        _router.Map("GET", "/.well-known/matrix/client", WellKnown, requiresAuth: false);
        _router.Map("GET", V3 + "/capabilities", Capabilities);

        // Accounts.
        _router.Map("GET", V3 + "/login", r => Ok(r, new JsonObject { ["flows"] = new JsonArray(new JsonObject { ["type"] = "m.login.password" }) }), requiresAuth: false);
        _router.Map("POST", V3 + "/login", Login, requiresAuth: false);
        _router.Map("POST", V3 + "/logout", r => { _engine.Logout(r.Session); return Ok(r, new JsonObject()); });
        _router.Map("GET", V3 + "/account/whoami", r => Ok(r, new JsonObject { ["user_id"] = r.Session.UserId, ["is_guest"] = false, ["device_id"] = r.Session.DeviceId }));
        _router.Map("GET", "/_synapse/admin/v1/register", RegistrationNonce, requiresAuth: false);
        _router.Map("POST", "/_synapse/admin/v1/register", SharedSecretRegister, requiresAuth: false);

        // Filters, account data, sync.
        _router.Map("POST", V3 + "/user/{userId}/filter", async r => await Ok(r, new JsonObject { ["filter_id"] = _engine.CreateFilter(r.Session, r["userId"], await r.ReadObjectAsync()) }));
        _router.Map("GET", V3 + "/user/{userId}/filter/{filterId}", r => Ok(r, _engine.GetFilter(r.Session, r["userId"], r["filterId"])));
        _router.Map("GET", V3 + "/user/{userId}/account_data/{type}", r => Ok(r, _engine.GetAccountData(r.Session, r["userId"], r["type"])));
        _router.Map("PUT", V3 + "/user/{userId}/account_data/{type}", async r =>
        {
            _engine.SetAccountData(r.Session, r["userId"], r["type"], await r.ReadObjectAsync());
            await Ok(r, new JsonObject());
        });
        _router.Map("GET", V3 + "/sync", Sync);

        // Push rules: matrix-js-sdk will not start its sync without reading them. The ruleset is empty (Synapse
        // sends its server defaults, which js-sdk adds itself when they are missing); nothing is ever pushed.
        _router.Map("GET", V3 + "/pushrules/{scope?}", r => r["scope"].Length == 0
            ? Ok(r, new JsonObject
            {
                ["global"] = new JsonObject { ["override"] = new JsonArray(), ["content"] = new JsonArray(), ["room"] = new JsonArray(), ["sender"] = new JsonArray(), ["underride"] = new JsonArray() },
            })
            : throw MatrixErrorException.Unrecognized(404));

        // Rooms and membership.
        _router.Map("POST", V3 + "/createRoom", async r => await Ok(r, new JsonObject { ["room_id"] = _engine.CreateRoom(r.Session, await r.ReadObjectAsync()) }));
        _router.Map("POST", V3 + "/join/{roomIdOrAlias}", r => SelfMembership(r, Membership.Join, r["roomIdOrAlias"]));
        _router.Map("POST", V3 + "/knock/{roomIdOrAlias}", r => SelfMembership(r, Membership.Knock, r["roomIdOrAlias"]));
        _router.Map("POST", V3 + "/rooms/{roomId}/join", r => SelfMembership(r, Membership.Join, r["roomId"]));
        _router.Map("POST", V3 + "/rooms/{roomId}/leave", r => SelfMembership(r, Membership.Leave, r["roomId"]));
        _router.Map("POST", V3 + "/rooms/{roomId}/forget", r => { _engine.Forget(r.Session, r["roomId"]); return Ok(r, new JsonObject()); });
        foreach (var action in (string[])["invite", "kick", "ban", "unban"])
        {
            _router.Map("POST", V3 + "/rooms/{roomId}/" + action, r => OtherMembership(r, action));
        }

        _router.Map("GET", V3 + "/joined_rooms", r => Ok(r, new JsonObject { ["joined_rooms"] = _engine.GetJoinedRooms(r.Session) }));
        _router.Map("GET", V3 + "/rooms/{roomId}/members", r => Ok(r, new JsonObject
        {
            ["chunk"] = _engine.GetMembers(r.Session, r["roomId"], r.Query("membership"), r.Query("not_membership")),
        }));
        _router.Map("GET", V3 + "/rooms/{roomId}/joined_members", r => Ok(r, new JsonObject { ["joined"] = _engine.GetJoinedMembers(r.Session, r["roomId"]) }));
        _router.Map("GET", V3 + "/directory/room/{alias}", r => Ok(r, new JsonObject
        {
            ["room_id"] = _engine.LookUpAlias(r["alias"]),
            ["servers"] = new JsonArray(_engine.ServerName),
        }), requiresAuth: false);
        _router.Map("PUT", V3 + "/directory/room/{alias}", async r =>
        {
            _engine.CreateAlias(r["alias"], Json.RequiredString(await r.ReadObjectAsync(), "room_id"));
            await Ok(r, new JsonObject());
        });

        // Events and state.
        _router.Map("PUT", V3 + "/rooms/{roomId}/send/{eventType}/{txnId}", async r => await Ok(r, new JsonObject
        {
            ["event_id"] = _engine.SendMessage(r.Session, r["roomId"], r["eventType"], r["txnId"], await r.ReadObjectAsync()),
        }));
        _router.Map("PUT", V3 + "/rooms/{roomId}/state/{eventType}/{stateKey?}", async r => await Ok(r, new JsonObject
        {
            ["event_id"] = _engine.SendState(r.Session, r["roomId"], r["eventType"], r["stateKey"], await r.ReadObjectAsync()),
        }));
        _router.Map("GET", V3 + "/rooms/{roomId}/state/{eventType}/{stateKey?}", r => Ok(r, _engine.GetStateContent(r.Session, r["roomId"], r["eventType"], r["stateKey"])));
        _router.Map("GET", V3 + "/rooms/{roomId}/state", r => Ok(r, _engine.GetFullState(r.Session, r["roomId"])));
        _router.Map("GET", V3 + "/rooms/{roomId}/event/{eventId}", r => Ok(r, _engine.GetEvent(r.Session, r["roomId"], r["eventId"])));
        _router.Map("GET", V3 + "/rooms/{roomId}/messages", Messages);
        _router.Map("PUT", V3 + "/rooms/{roomId}/typing/{userId}", Typing);
        _router.Map("POST", V3 + "/rooms/{roomId}/receipt/{receiptType}/{eventId}", Receipt);

        // End-to-end encryption: keys, cross-signing, to-device messages.
        _router.Map("POST", V3 + "/keys/upload", async r => await Ok(r, _engine.UploadKeys(r.Session, await r.ReadObjectAsync())));
        _router.Map("POST", V3 + "/keys/query", async r => await Ok(r, _engine.QueryKeys(r.Session, await r.ReadObjectAsync())));
        _router.Map("GET", V3 + "/keys/changes", r => Ok(r, _engine.KeyChanges(r.Session,
            r.Query("from") ?? throw new MatrixErrorException(400, "M_MISSING_PARAM", "Missing string query parameter 'from'"))));
        _router.Map("POST", V3 + "/keys/claim", async r => await Ok(r, _engine.ClaimKeys(await r.ReadObjectAsync())));
        _router.Map("POST", V3 + "/keys/device_signing/upload", async r => await Ok(r, _engine.UploadCrossSigningKeys(r.Session, await r.ReadObjectAsync())));
        _router.Map("POST", V3 + "/keys/signatures/upload", async r => await Ok(r, _engine.UploadSignatures(r.Session, await r.ReadObjectAsync())));
        _router.Map("PUT", V3 + "/sendToDevice/{eventType}/{txnId}", async r =>
        {
            _engine.SendToDevice(r.Session, r["eventType"], r["txnId"], await r.ReadObjectAsync());
            await Ok(r, new JsonObject());
        });

        // Media.
        _router.Map("POST", "/_matrix/media/v3/upload", Upload);
        _router.Map("GET", "/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName?}", Download);
        _router.Map("GET", "/_matrix/client/v1/media/config", r => Ok(r, new JsonObject { ["m.upload.size"] = HomeserverEngine.MaxUploadSize }));

        // Authenticated media is enforced: the legacy download path knows no media (Synapse answers 404).
        _router.Map("GET", "/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName?}", _ => throw MatrixErrorException.NotFound("Not found"), requiresAuth: false);
    }

    public async Task HandleAsync(HttpContext http)
    {
        var method = http.Request.Method;
        var path = http.Request.Path.Value ?? "/";
        if (_faults.TakeFor(path) is { } injected)
        {
            Log.InjectedFault(_logger, method, path, injected.StatusCode);
            if (injected.StatusCode == 0)
            {
                http.Abort();
                return;
            }

            await WriteErrorAsync(http, new MatrixErrorException(injected.StatusCode, injected.ErrorCode, injected.Error));
            return;
        }

        try
        {
            var (route, values) = _router.Match(method, Router.Segments(http));
            var session = route.RequiresAuth ? _engine.Authenticate(AccessToken(http.Request)) : null;
            await route.Handler(new RequestContext(http, values, session));
            Log.Request(_logger, method, path, http.Response.StatusCode);
        }
        catch (MatrixErrorException e)
        {
            Log.Refused(_logger, method, path, e.Status, e.ErrorCode, e.Message);
            await WriteErrorAsync(http, e);
        }
        catch (UserInteractiveAuthRequiredException e)
        {
            Log.Refused(_logger, method, path, 401, "(user-interactive auth)", e.Message);
            await WriteJsonAsync(http, 401, e.Body);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel refused the request itself, e.g. a body over its size limit.
            var error = e.StatusCode == 413
                ? new MatrixErrorException(413, "M_TOO_LARGE", "Request body is too large")
                : MatrixErrorException.Unknown(e.StatusCode, e.Message);
            Log.Refused(_logger, method, path, error.Status, error.ErrorCode, error.Message);
            await WriteErrorAsync(http, error);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            http.Abort();
        }
        catch (Exception e)
        {
            Log.Unhandled(_logger, e, method, path);
            if (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http, MatrixErrorException.Unknown(500, "Internal server error"));
            }
        }
    }

    /// <summary><c>Authorization: Bearer</c>, or the deprecated <c>access_token</c> query parameter (CS API §"Using access tokens").</summary>
    private static string? AccessToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        return request.Query.TryGetValue("access_token", out var token) ? token.ToString() : null;
    }

    private Task Versions(RequestContext r) => Ok(r, new JsonObject
    {
        ["versions"] = new JsonArray([.. ((string[])["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
            "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"]).Select(v => (JsonNode)v)]),
        ["unstable_features"] = new JsonObject(),
    });

    private Task WellKnown(RequestContext r) => Ok(r, new JsonObject
    {
        ["m.homeserver"] = new JsonObject { ["base_url"] = _baseUrl().ToString().TrimEnd('/') },
    });

    private Task Capabilities(RequestContext r)
    {
        var available = new JsonObject();
        foreach (var version in RoomVersion.Supported)
        {
            available[version.Id] = "stable";
        }

        var disabled = () => new JsonObject { ["enabled"] = false };
        return Ok(r, new JsonObject
        {
            ["capabilities"] = new JsonObject
            {
                ["m.room_versions"] = new JsonObject { ["default"] = _engine.DefaultRoomVersion.Id, ["available"] = available },
                ["m.change_password"] = disabled(),
                ["m.set_displayname"] = disabled(),
                ["m.set_avatar_url"] = disabled(),
                ["m.3pid_changes"] = disabled(),
                ["m.get_login_token"] = disabled(),
            },
        });
    }

    /// <summary>CS API §"Password-based": the user as an <c>m.id.user</c> identifier (or the legacy <c>user</c> field).</summary>
    private async Task Login(RequestContext r)
    {
        var body = await r.ReadObjectAsync();
        var invalid = MatrixErrorException.InvalidParam("Invalid login submission");
        if (Json.OptionalString(body, "type") != "m.login.password")
        {
            throw invalid;
        }

        var identifier = Json.OptionalObject(body, "identifier");
        var user = identifier is not null
            ? (Json.OptionalString(identifier, "type") == "m.id.user" ? Json.OptionalString(identifier, "user") : null)
            : Json.OptionalString(body, "user");
        var password = Json.OptionalString(body, "password");
        if (user is null || password is null)
        {
            throw invalid;
        }

        var login = _engine.Login(user, password, Json.OptionalString(body, "device_id"), Json.OptionalString(body, "initial_device_display_name"));
        await Ok(r, new JsonObject
        {
            ["user_id"] = login.UserId,
            ["access_token"] = login.AccessToken,
            ["home_server"] = _engine.ServerName,
            ["device_id"] = login.DeviceId,
        });
    }

    private Task RegistrationNonce(RequestContext r)
    {
        RequireSharedSecret();
        return Ok(r, new JsonObject { ["nonce"] = _engine.NewRegistrationNonce() });
    }

    /// <summary>
    /// Synapse's shared-secret registration: a nonce from the GET, then a POST whose <c>mac</c> is
    /// HMAC-SHA1(secret, nonce NUL username NUL password NUL admin|notadmin [NUL user_type]) in hex.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Synapse's shared-secret registration protocol is defined with HMAC-SHA1.")]
    private async Task SharedSecretRegister(RequestContext r)
    {
        var secret = RequireSharedSecret();
        var body = await r.ReadObjectAsync();
        if (Json.OptionalString(body, "nonce") is not { } nonce || !_engine.TryConsumeRegistrationNonce(nonce))
        {
            throw MatrixErrorException.Unknown(400, "unrecognised nonce");
        }

        var username = Json.OptionalString(body, "username") ?? throw MatrixErrorException.Unknown(400, "Invalid username");
        var password = Json.OptionalString(body, "password") ?? throw MatrixErrorException.Unknown(400, "Invalid password");
        var admin = body["admin"] is JsonValue a && a.TryGetValue<bool>(out var isAdmin) && isAdmin;
        var message = new StringBuilder().Append(nonce).Append('\0').Append(username).Append('\0').Append(password).Append('\0')
            .Append(admin ? "admin" : "notadmin");
        if (Json.OptionalString(body, "user_type") is { } userType)
        {
            message.Append('\0').Append(userType);
        }

        var expected = Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(message.ToString())));
        var given = Json.OptionalString(body, "mac") ?? "";
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(given.ToLowerInvariant())))
        {
            throw MatrixErrorException.Unknown(403, "HMAC incorrect");
        }

        var user = _engine.Register(username, password);
        await Ok(r, new JsonObject
        {
            ["user_id"] = user.UserId,
            ["home_server"] = _engine.ServerName,
            ["access_token"] = user.AccessToken,
            ["device_id"] = user.DeviceId,
        });
    }

    private string RequireSharedSecret() =>
        _engine.RegistrationSharedSecret ?? throw MatrixErrorException.Unknown(400, "Shared secret registration is not enabled");

    /// <summary>
    /// <c>GET /sync</c>: answers at once on an initial sync or when there is news; otherwise waits for the user's
    /// signal until <c>timeout</c> ms pass (on the server's clock). A restart aborts the wait with the connection.
    /// </summary>
    private async Task Sync(RequestContext r)
    {
        var since = r.Query("since");
        var timeoutMs = 0L;
        if (r.Query("timeout") is { Length: > 0 } timeoutText
            && !long.TryParse(timeoutText, NumberStyles.None, CultureInfo.InvariantCulture, out timeoutMs))
        {
            throw MatrixErrorException.InvalidParam("Query parameter \"timeout\" must be an integer");
        }

        var fullState = r.Query("full_state") == "true";
        var filter = _engine.ResolveSyncFilter(r.Session, r.Query("filter"));
        var deadline = _time.GetUtcNow().AddMilliseconds(timeoutMs);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(r.Http.RequestAborted, _stopping);
        while (true)
        {
            var batch = _engine.Sync(r.Session, since, filter, fullState);
            var remaining = deadline - _time.GetUtcNow();
            if (!batch.IsEmpty || since is null || fullState || remaining <= TimeSpan.Zero)
            {
                await Ok(r, batch.Response);
                return;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
            // Task.Delay takes at most ~49 days; wait in slices, the loop re-checks the deadline.
            var delay = Task.Delay(remaining < TimeSpan.FromHours(1) ? remaining : TimeSpan.FromHours(1), _time, wait.Token);
            await Task.WhenAny(batch.Wakeup, delay);
            await wait.CancelAsync();
            cancel.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// <c>GET /rooms/{roomId}/messages</c>: the query as Synapse reads it (streams/config.py, rest/client/room.py) —
    /// <c>dir</c> <c>b</c> or <c>f</c> (Synapse defaults to <c>f</c>, though the spec requires it), <c>limit</c> 10 by
    /// default, at most <see cref="HomeserverEngine.MaxMessagesLimit"/>, and <c>filter</c> a RoomEventFilter as JSON.
    /// Parameters are checked before membership, as Synapse does; the refusals' wording is Synapse 1.160's (probed).
    /// </summary>
    private Task Messages(RequestContext r)
    {
        var dir = r.Query("dir") ?? "f";
        if (dir is not ("b" or "f"))
        {
            throw MatrixErrorException.InvalidParam("Query parameter 'dir' must be one of ['b', 'f']");
        }

        var limit = 10L;
        if (r.Query("limit") is { } limitText && !long.TryParse(limitText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
        {
            throw MatrixErrorException.InvalidParam("Query parameter limit must be an integer");
        }

        if (limit < 0)
        {
            throw MatrixErrorException.InvalidParam("Query parameter limit must be a positive integer.");
        }

        var filter = EventFilter.Parse(null);
        var lazyLoadMembers = false;
        if (r.Query("filter") is { Length: > 0 } filterText)
        {
            var notJson = new MatrixErrorException(400, "M_NOT_JSON", "Query parameter filter must be a valid JSON object");
            JsonObject json;
            try
            {
                json = JsonNode.Parse(filterText) as JsonObject ?? throw notJson;
            }
            catch (System.Text.Json.JsonException)
            {
                throw notJson;
            }

            filter = EventFilter.Parse(json);
            lazyLoadMembers = json["lazy_load_members"] is JsonValue lazy && lazy.TryGetValue<bool>(out var on) && on;
        }

        // An empty token is no token (Synapse tests the string's truth); "END" is an old synonym of none for from.
        var from = r.Query("from") is { Length: > 0 } f && f != "END" ? f : null;
        var to = r.Query("to") is { Length: > 0 } t ? t : null;
        return Ok(r, _engine.GetMessages(r.Session, r["roomId"], from, to, dir == "b",
            (int)Math.Min(limit, HomeserverEngine.MaxMessagesLimit), filter, lazyLoadMembers));
    }

    private async Task SelfMembership(RequestContext r, string membership, string roomIdOrAlias)
    {
        var body = await r.ReadObjectAsync(allowEmpty: true);
        var roomEvent = _engine.UpdateMembership(r.Session, roomIdOrAlias, r.Session.UserId, membership, content: null, Json.OptionalString(body, "reason"));
        await Ok(r, membership is Membership.Join or Membership.Knock ? new JsonObject { ["room_id"] = roomEvent.RoomId } : new JsonObject());
    }

    private async Task OtherMembership(RequestContext r, string action)
    {
        var body = await r.ReadObjectAsync();
        var target = Json.RequiredString(body, "user_id");
        if (!target.StartsWith('@'))
        {
            throw MatrixErrorException.InvalidParam("Expected UserID string to start with '@'");
        }

        _engine.UpdateMembership(r.Session, r["roomId"], target, action, content: null, Json.OptionalString(body, "reason"));
        await Ok(r, new JsonObject());
    }

    private async Task Typing(RequestContext r)
    {
        if (r["userId"] != r.Session.UserId)
        {
            throw new MatrixErrorException(400, "M_FORBIDDEN", "Cannot set another user's typing state");
        }

        var body = await r.ReadObjectAsync();
        if (body["typing"] is not JsonValue typing || !typing.TryGetValue<bool>(out _))
        {
            throw MatrixErrorException.MissingParams("typing");
        }

        _engine.RequireJoined(r.Session, r["roomId"]);
        await Ok(r, new JsonObject());
    }

    private async Task Receipt(RequestContext r)
    {
        _ = await r.ReadObjectAsync(allowEmpty: true);
        if (r["receiptType"] is not ("m.read" or "m.read.private" or "m.fully_read"))
        {
            throw MatrixErrorException.InvalidParam($"Receipt type must be 'm.read', 'm.read.private' or 'm.fully_read'");
        }

        _engine.RequireJoined(r.Session, r["roomId"]);
        await Ok(r, new JsonObject());
    }

    private async Task Upload(RequestContext r)
    {
        var content = await r.ReadBytesAsync();
        var contentType = r.Http.Request.ContentType ?? "application/octet-stream";
        var uri = _engine.Upload(content, contentType, r.Query("filename"));
        await Ok(r, new JsonObject { ["content_uri"] = uri });
    }

    private async Task Download(RequestContext r)
    {
        var media = _engine.Download(r["serverName"], r["mediaId"]);
        var fileName = r["fileName"] is { Length: > 0 } requested ? requested : media.FileName;
        var response = r.Http.Response;
        response.StatusCode = 200;
        response.ContentType = media.ContentType;
        var inline = media.ContentType.StartsWith("image/", StringComparison.Ordinal) || media.ContentType.StartsWith("text/plain", StringComparison.Ordinal)
            || media.ContentType.StartsWith("video/", StringComparison.Ordinal) || media.ContentType.StartsWith("audio/", StringComparison.Ordinal);
        response.Headers.ContentDisposition = (inline ? "inline" : "attachment") + (fileName is null ? "" : $"; filename={fileName}");
        response.ContentLength = media.Content.Length;
        await response.Body.WriteAsync(media.Content, r.Http.RequestAborted);
    }

    private static Task Ok(RequestContext r, JsonNode body) => WriteJsonAsync(r.Http, 200, body);

    private static async Task WriteErrorAsync(HttpContext http, MatrixErrorException error)
    {
        if (error.RetryAfterMs is { } ms)
        {
            // Synapse 1.160 sends both: the deprecated body field and the header in whole seconds, rounded up.
            http.Response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(CultureInfo.InvariantCulture);
        }

        await WriteJsonAsync(http, error.Status, error.ToBody());
    }

    private static async Task WriteJsonAsync(HttpContext http, int status, JsonNode body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}
