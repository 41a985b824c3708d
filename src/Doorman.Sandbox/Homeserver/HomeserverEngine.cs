using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// All state of the sandbox homeserver and every operation on it. One lock guards everything (it is a test
/// server); nothing awaits while holding it. Long-polls wait on <see cref="UserSignals"/> outside the lock.
/// The operations live in one file per concern: accounts here, then Rooms, Membership, Sync, AccountData, Media.
/// </summary>
internal sealed partial class HomeserverEngine
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Dictionary<(string UserId, string DeviceId, string RoomId, string TxnId), string> _transactions = [];
    private readonly Dictionary<string, long> _registrationNonces = new(StringComparer.Ordinal);
    private readonly HashSet<(string UserId, string DeviceId, string EventType, string TxnId)> _toDeviceTransactions = [];
    private readonly Dictionary<string, string> _uiaSessions = new(StringComparer.Ordinal);
    private readonly UserSignals _signals = new();
    private readonly MessageRateLimiter _rateLimiter;

    /// <summary>The last position handed out in the server-wide stream (events and account data share it).</summary>
    private long _stream;

    public HomeserverEngine(SandboxHomeserverOptions options, ILogger logger)
    {
        ServerName = options.ServerName;
        DefaultRoomVersion = RoomVersion.Find(options.DefaultRoomVersion)
            ?? throw new ArgumentException($"Room version {options.DefaultRoomVersion} is not supported (10, 11, 12)", nameof(options));
        RegistrationSharedSecret = options.RegistrationSharedSecret;
        _time = options.TimeProvider;
        _logger = logger;
        _rateLimiter = new MessageRateLimiter(options.TimeProvider, options.MessageRateLimit);
    }

    public string ServerName { get; }

    public RoomVersion DefaultRoomVersion { get; }

    public string? RegistrationSharedSecret { get; }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- Accounts and sessions ------------------------------------------------------------------------------

    /// <summary>Creates <c>@localpart:ServerName</c> (display name = localpart, as Synapse sets it) with one device.</summary>
    public SandboxUser Register(string localpart, string password)
    {
        if (string.IsNullOrEmpty(localpart) || localpart.Any(c => !IsLocalpartChar(c)))
        {
            throw MatrixErrorException.Unknown(400, "User ID can only contain characters a-z, 0-9, or '=_-./+'");
        }

        var userId = $"@{localpart}:{ServerName}";
        lock (_gate)
        {
            if (_accounts.ContainsKey(userId))
            {
                throw new MatrixErrorException(400, "M_USER_IN_USE", "User ID already taken.");
            }

            _accounts[userId] = new Account(userId, password, displayName: localpart);
            return NewSession(userId, Ids.NewDeviceId(), displayName: null);
        }
    }

    /// <summary>
    /// CS API §"Login": <c>m.login.password</c> with an <c>m.id.user</c> identifier; reuses a given device id (and
    /// its keys), otherwise registers a new device named <paramref name="displayName"/>.
    /// </summary>
    public SandboxUser Login(string user, string password, string? deviceId, string? displayName = null)
    {
        var userId = user.StartsWith('@') ? user : $"@{user}:{ServerName}";
        lock (_gate)
        {
            if (!_accounts.TryGetValue(userId, out var account) || account.Password != password)
            {
                throw MatrixErrorException.Forbidden("Invalid username or password");
            }

            return NewSession(userId, string.IsNullOrEmpty(deviceId) ? Ids.NewDeviceId() : deviceId, displayName);
        }
    }

    public Session Authenticate(string? accessToken)
    {
        if (accessToken is null)
        {
            throw new MatrixErrorException(401, "M_MISSING_TOKEN", "Missing access token");
        }

        lock (_gate)
        {
            if (_sessions.TryGetValue(accessToken, out var session) && !session.Invalidated)
            {
                return session;
            }

            var softLogout = session?.SoftLogout ?? false;
            throw new MatrixErrorException(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", new JsonObject { ["soft_logout"] = softLogout });
        }
    }

    /// <summary>Synapse deletes the device on logout, with its keys and to-device inbox; its owner's room-mates hear of it.</summary>
    public void Logout(Session session)
    {
        lock (_gate)
        {
            session.Invalidated = true;
            var stillUsed = _sessions.Values.Any(s => !s.Invalidated && s.UserId == session.UserId && s.DeviceId == session.DeviceId);
            if (!stillUsed && AccountOf(session.UserId).Devices.Remove(session.DeviceId))
            {
                DeviceListChanged(session.UserId);
            }
        }
    }

    public void InvalidateToken(string accessToken, bool softLogout)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(accessToken, out var session))
            {
                session.Invalidated = true;
                session.SoftLogout = softLogout;
            }
        }
    }

    public string NewRegistrationNonce()
    {
        lock (_gate)
        {
            var nonce = Ids.NewNonce();
            _registrationNonces[nonce] = NowMs;
            return nonce;
        }
    }

    /// <summary>Consumes a nonce handed out in the last 60 seconds (Synapse's <c>NONCE_TIMEOUT</c>).</summary>
    public bool TryConsumeRegistrationNonce(string nonce)
    {
        lock (_gate)
        {
            return _registrationNonces.Remove(nonce, out var issuedMs) && NowMs - issuedMs <= 60_000;
        }
    }

    // ---- Faults and limits ---------------------------------------------------------------------------------

    public void RateLimitNext(string userId, int count, TimeSpan retryAfter)
    {
        lock (_gate)
        {
            _rateLimiter.ForceNext(userId, count, retryAfter);
        }
    }

    public void ExemptFromRateLimits(string userId)
    {
        lock (_gate)
        {
            _rateLimiter.Exempt(userId);
        }
    }

    /// <summary>
    /// Synapse's shared <c>rc_message</c> bucket: charged when an event passes the auth rules and is about to be
    /// persisted (so refused requests cost nothing), and up front by <c>createRoom</c>. Caller holds the lock.
    /// </summary>
    private void ChargeRateLimit(Session session)
    {
        if (_rateLimiter.TryAcquire(session.UserId) is { } retryAfterMs)
        {
            throw MatrixErrorException.LimitExceeded(retryAfterMs);
        }
    }

    // ---- Inspection ---------------------------------------------------------------------------------------

    public string? GetMembership(string roomId, string userId)
    {
        lock (_gate)
        {
            return _rooms.GetValueOrDefault(roomId)?.MembershipOf(userId);
        }
    }

    public IReadOnlyList<JsonObject> GetTimeline(string roomId)
    {
        lock (_gate)
        {
            var room = _rooms.GetValueOrDefault(roomId) ?? throw new KeyNotFoundException($"No room {roomId} on this server");
            var now = NowMs;
            return [.. room.Timeline.Select(e => e.ToClientEvent(now, viewerDeviceId: null, includeRoomId: true))];
        }
    }

    public JsonObject? GetStateEvent(string roomId, string type, string stateKey)
    {
        lock (_gate)
        {
            return _rooms.GetValueOrDefault(roomId)?.GetState(type, stateKey)?.ToClientEvent(NowMs, viewerDeviceId: null, includeRoomId: true);
        }
    }

    // ---- Helpers shared by the concerns ---------------------------------------------------------------------

    private SandboxUser NewSession(string userId, string deviceId, string? displayName)
    {
        var devices = AccountOf(userId).Devices;
        if (!devices.ContainsKey(deviceId))
        {
            devices[deviceId] = new Device(deviceId, displayName);
            DeviceListChanged(userId);
        }

        var session = new Session(Ids.NewAccessToken(), userId, deviceId);
        _sessions[session.AccessToken] = session;
        return new SandboxUser(userId, session.AccessToken, deviceId);
    }

    private Account AccountOf(string userId) => _accounts[userId];

    private string DisplayNameOf(string userId) =>
        _accounts.TryGetValue(userId, out var account) ? account.DisplayName : Ids.LocalpartOf(userId);

    /// <summary>Appends an event to a room at the next stream position and wakes everyone with a membership there.</summary>
    private RoomEvent Persist(Room room, string type, string sender, string? stateKey, JsonObject content,
        (string DeviceId, string TxnId)? transaction = null, string? eventId = null)
    {
        var roomEvent = new RoomEvent
        {
            EventId = eventId ?? Ids.NewEventId(),
            RoomId = room.RoomId,
            Type = type,
            Sender = sender,
            StateKey = stateKey,
            Content = content,
            OriginServerTs = NowMs,
            StreamPosition = ++_stream,
            Replaces = stateKey is null ? null : room.GetState(type, stateKey),
            Transaction = transaction,
        };
        room.Append(roomEvent);
        foreach (var member in room.Members)
        {
            _signals.Notify(member.StateKey!);
        }

        Log.EventPersisted(_logger, roomEvent.EventId, type, room.RoomId, sender);
        return roomEvent;
    }

    private static bool IsLocalpartChar(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '=' or '_' or '-' or '.' or '/' or '+';
}

/// <summary>A registered user and what the server keeps per user.</summary>
internal sealed class Account(string userId, string password, string displayName)
{
    public string UserId { get; } = userId;

    public string Password { get; } = password;

    public string DisplayName { get; } = displayName;

    /// <summary>Uploaded filters; the id of each is its index, as Synapse numbers them ("0", "1", …).</summary>
    public List<JsonObject> Filters { get; } = [];

    /// <summary>Global account data by type, with the stream position of its last change.</summary>
    public Dictionary<string, (JsonObject Content, long Position)> AccountData { get; } = new(StringComparer.Ordinal);

    public HashSet<string> ForgottenRooms { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Device> Devices { get; } = new(StringComparer.Ordinal);

    /// <summary>Cross-signing keys as uploaded, by usage: <c>master</c>, <c>self_signing</c>, <c>user_signing</c>.</summary>
    public Dictionary<string, JsonObject> CrossSigningKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Signatures of the current master key by signer (the owner's devices, other users' user-signing keys).</summary>
    public Dictionary<string, Dictionary<string, string>> MasterKeySignatures { get; } = new(StringComparer.Ordinal);

    /// <summary>The stream position of the last change to this user's devices, device keys, master or self-signing key (0: none).</summary>
    public long DeviceListPosition { get; set; }

    /// <summary>
    /// Users whose keys this user's own signatures changed, and when: Synapse's signature stream, which only the signer
    /// hears of (its user-signing key, its signatures of other users' master keys).
    /// </summary>
    public Dictionary<string, long> SignatureChanges { get; } = new(StringComparer.Ordinal);
}

/// <summary>One access token: the user and device it speaks for, and whether it still works.</summary>
internal sealed class Session(string accessToken, string userId, string deviceId)
{
    public string AccessToken { get; } = accessToken;

    public string UserId { get; } = userId;

    public string DeviceId { get; } = deviceId;

    public bool Invalidated { get; set; }

    public bool SoftLogout { get; set; }
}
