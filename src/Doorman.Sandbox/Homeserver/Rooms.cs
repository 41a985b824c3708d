using System.Text;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>Room creation, aliases and the room state and event reads (CS API §"Rooms", §"Room aliases").</summary>
internal sealed partial class HomeserverEngine
{
    private static readonly string[] PrejoinStateTypes =
        [EventTypes.Create, EventTypes.JoinRules, EventTypes.CanonicalAlias, EventTypes.Name, EventTypes.Topic, EventTypes.Avatar, EventTypes.Encryption];

    /// <summary>
    /// <c>POST /createRoom</c> in Synapse's order (synapse/handlers/room.py): rate limit, validate everything,
    /// then create, creator join, power levels, alias, join rules, history visibility, guest access, initial
    /// state, name, topic, and the invites (carrying <c>is_direct</c>).
    /// </summary>
    public string CreateRoom(Session session, JsonObject request)
    {
        lock (_gate)
        {
            ChargeRateLimit(session);
            var creator = session.UserId;

            var version = DefaultRoomVersion;
            if (request["room_version"] is { } versionNode)
            {
                var id = versionNode.GetValueKind() == System.Text.Json.JsonValueKind.String
                    ? versionNode.GetValue<string>()
                    : throw MatrixErrorException.BadJson("room_version must be a string");
                version = RoomVersion.Find(id)
                    ?? throw new MatrixErrorException(400, "M_UNSUPPORTED_ROOM_VERSION", "Your homeserver does not support this room version");
            }

            string? alias = null;
            if (Json.OptionalString(request, "room_alias_name") is { } aliasName)
            {
                if (aliasName.Any(char.IsWhiteSpace))
                {
                    throw MatrixErrorException.Unknown(400, "Invalid characters in room alias");
                }

                if (aliasName.Contains(':', StringComparison.Ordinal))
                {
                    throw MatrixErrorException.Unknown(400,
                        "':' is not permitted in the room alias name. Please note this expects a local part — 'wombat', not '#wombat:example.com'.");
                }

                alias = $"#{aliasName}:{ServerName}";
                if (_aliases.ContainsKey(alias))
                {
                    throw new MatrixErrorException(400, "M_ROOM_IN_USE", "Room alias already taken");
                }
            }

            var invites = InviteList(request);
            var preset = Preset.For(request);
            var overrideContent = Json.OptionalObject(request, "power_level_content_override");
            if (overrideContent?["users"] is JsonObject overrideUsers && !version.CreatorsHaveInfinitePower && !overrideUsers.ContainsKey(creator))
            {
                throw MatrixErrorException.Unknown(400, $"Not a valid power_level_content_override: 'users' did not contain {creator}");
            }

            var initialState = InitialState(request);
            var isDirect = request["is_direct"] is JsonValue direct && direct.TryGetValue<bool>(out var d) && d;

            // The create event. v11+ drop `creator` (the sender is the creator); in v12 a trusted_private_chat's
            // invitees become additional creators (CS API v1.16 §createRoom `preset`).
            var createContent = (Json.OptionalObject(request, "creation_content")?.DeepClone() as JsonObject) ?? [];
            createContent["room_version"] = version.Id;
            if (!version.ImplicitCreator)
            {
                createContent["creator"] = creator;
            }

            if (version.CreatorsHaveInfinitePower && preset.Name == "trusted_private_chat" && invites.Count > 0)
            {
                var existing = createContent["additional_creators"] as JsonArray;
                var merged = (existing?.Select(n => n?.ToString() ?? "") ?? []).Union(invites).ToList();
                createContent["additional_creators"] = new JsonArray([.. merged.Select(u => (JsonNode)u)]);
            }

            ValidateCreateContent(version, createContent);

            // Room v12 §"Event format": the room id is the create event's reference hash with `!` for `$`.
            string roomId;
            string? createEventId = null;
            if (version.RoomIdIsCreateEventHash)
            {
                var hash = Ids.HashToId(Encoding.UTF8.GetBytes(
                    $"{createContent.ToJsonString()}|{creator}|{NowMs}|{Ids.NewEventId()}"));
                roomId = "!" + hash;
                createEventId = "$" + hash;
            }
            else
            {
                roomId = Ids.NewRoomId(ServerName);
            }

            var room = new Room(roomId, version);

            // Validate the power levels the room will start with before anything is stored (Synapse would
            // reject the event half-way through creation; we refuse the whole request instead).
            var powerLevels = initialState.Remove((EventTypes.PowerLevels, ""), out var explicitLevels)
                ? explicitLevels
                : DefaultPowerLevels(version, creator, preset, invites, overrideContent);

            _rooms[roomId] = room;
            if (alias is not null)
            {
                _aliases[alias] = roomId;
            }

            try
            {
                Persist(room, EventTypes.Create, creator, "", createContent, eventId: createEventId);
                Persist(room, EventTypes.Member, creator, creator, MemberContent(Membership.Join, creator, reason: null));
                PowerLevels.ValidateShape(room, powerLevels);
                Persist(room, EventTypes.PowerLevels, creator, "", powerLevels);
                if (alias is not null && !initialState.ContainsKey((EventTypes.CanonicalAlias, "")))
                {
                    Persist(room, EventTypes.CanonicalAlias, creator, "", new JsonObject { ["alias"] = alias });
                }

                PersistUnlessGiven(room, initialState, creator, EventTypes.JoinRules, new JsonObject { ["join_rule"] = preset.JoinRule });
                PersistUnlessGiven(room, initialState, creator, EventTypes.HistoryVisibility, new JsonObject { ["history_visibility"] = "shared" });
                if (preset.GuestCanJoin)
                {
                    PersistUnlessGiven(room, initialState, creator, EventTypes.GuestAccess, new JsonObject { ["guest_access"] = "can_join" });
                }

                foreach (var ((type, stateKey), content) in initialState)
                {
                    Persist(room, type, creator, stateKey, content);
                }

                if (Json.OptionalString(request, "name") is { } name)
                {
                    Persist(room, EventTypes.Name, creator, "", new JsonObject { ["name"] = name });
                }

                if (Json.OptionalString(request, "topic") is { } topic)
                {
                    Persist(room, EventTypes.Topic, creator, "", new JsonObject
                    {
                        ["topic"] = topic,
                        ["m.topic"] = new JsonObject { ["m.text"] = new JsonArray(new JsonObject { ["body"] = topic }) },
                    });
                }

                foreach (var invitee in invites)
                {
                    var content = MemberContent(Membership.Invite, invitee, reason: null);
                    if (isDirect)
                    {
                        content["is_direct"] = true;
                    }

                    AuthRules.CheckMembership(room, creator, invitee, Membership.Invite, authorisingUser: null);
                    Persist(room, EventTypes.Member, creator, invitee, content);
                }
            }
            catch (MatrixErrorException)
            {
                _rooms.Remove(roomId);
                if (alias is not null)
                {
                    _aliases.Remove(alias);
                }

                throw;
            }

            return roomId;
        }
    }

    private void PersistUnlessGiven(Room room, Dictionary<(string, string), JsonObject> initialState, string sender, string type, JsonObject content)
    {
        if (!initialState.ContainsKey((type, "")))
        {
            Persist(room, type, sender, "", content);
        }
    }

    /// <summary>Synapse's default power levels for a new room, then the preset's and the request's overrides.</summary>
    private static JsonObject DefaultPowerLevels(RoomVersion version, string creator, Preset preset, IReadOnlyList<string> invites, JsonObject? requestOverride)
    {
        var users = new JsonObject();
        if (!version.CreatorsHaveInfinitePower)
        {
            users[creator] = 100;

            // trusted_private_chat: "All invitees are given the same power level as the room creator." In v12
            // they are additional creators instead, and may not appear in `users`.
            if (preset.InviteesHaveOps)
            {
                foreach (var invitee in invites)
                {
                    users[invitee] = 100;
                }
            }
        }

        var content = new JsonObject
        {
            ["users"] = users,
            ["users_default"] = 0,
            ["events"] = new JsonObject
            {
                [EventTypes.Name] = 50,
                [EventTypes.PowerLevels] = 100,
                [EventTypes.HistoryVisibility] = 100,
                [EventTypes.CanonicalAlias] = 50,
                [EventTypes.Avatar] = 50,
                [EventTypes.Tombstone] = version.CreatorsHaveInfinitePower ? 150 : 100,
                [EventTypes.ServerAcl] = 100,
                [EventTypes.Encryption] = 100,
            },
            ["events_default"] = 0,
            ["state_default"] = 50,
            ["ban"] = 50,
            ["kick"] = 50,
            ["redact"] = 50,
            ["invite"] = 50,
            ["historical"] = 100,
        };
        foreach (var (key, value) in preset.PowerLevelOverride)
        {
            content[key] = value?.DeepClone();
        }

        if (requestOverride is not null)
        {
            foreach (var (key, value) in requestOverride)
            {
                content[key] = value?.DeepClone();
            }
        }

        return content;
    }

    private static void ValidateCreateContent(RoomVersion version, JsonObject createContent)
    {
        // Room v12 rule 1.4: additional_creators must be an array of valid user ids.
        if (version.CreatorsHaveInfinitePower && createContent["additional_creators"] is { } more
            && (more is not JsonArray array || array.Any(n => n?.GetValueKind() != System.Text.Json.JsonValueKind.String || !Ids.IsValidUserId(n.GetValue<string>()))))
        {
            throw MatrixErrorException.BadJson("additional_creators must be an array of valid user IDs");
        }
    }

    private static List<string> InviteList(JsonObject request)
    {
        if (request["invite"] is null)
        {
            return [];
        }

        if (request["invite"] is not JsonArray array)
        {
            throw MatrixErrorException.Unknown(400, $"Invalid user_id: {request["invite"]!.ToJsonString()}");
        }

        List<string> invites = [];
        foreach (var node in array)
        {
            var id = node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node?.ToJsonString();
            if (!Ids.IsValidUserId(id))
            {
                throw MatrixErrorException.Unknown(400, $"Invalid user_id: {id}");
            }

            invites.Add(id!);
        }

        return invites;
    }

    /// <summary><c>initial_state</c> keyed by (type, state_key); a repeated key keeps its first position and its last content.</summary>
    private static Dictionary<(string, string), JsonObject> InitialState(JsonObject request)
    {
        var state = new Dictionary<(string, string), JsonObject>();
        if (request["initial_state"] is not JsonArray entries)
        {
            return state;
        }

        foreach (var entry in entries)
        {
            if (entry is not JsonObject e || Json.OptionalString(e, "type") is not { } type || e["content"] is not JsonObject content)
            {
                throw MatrixErrorException.BadJson("initial_state entries need a type and a content object");
            }

            state[(type, Json.OptionalString(e, "state_key") ?? "")] = (JsonObject)content.DeepClone();
        }

        return state;
    }

    // ---- Aliases --------------------------------------------------------------------------------------------

    public string ResolveAlias(string alias)
    {
        lock (_gate)
        {
            return _aliases.TryGetValue(alias, out var roomId) ? roomId : throw MatrixErrorException.NotFound($"Room alias {alias} not found");
        }
    }

    /// <summary>
    /// <c>GET /directory/room/{alias}</c> as Synapse answers it (synapse/rest/client/directory.py, handlers/directory.py):
    /// an alias that is not valid → 400 <c>M_INVALID_PARAM</c>; one on another server is asked over federation, which
    /// the sandbox does not have, so it answers as Synapse does when that server cannot be reached (502).
    /// </summary>
    public string LookUpAlias(string alias)
    {
        if (!Ids.IsValidRoomAlias(alias))
        {
            throw MatrixErrorException.InvalidParam("Room alias invalid");
        }

        return Ids.ServerOf(alias) == ServerName ? ResolveAlias(alias) : throw MatrixErrorException.Unknown(502, "Failed to fetch alias");
    }

    /// <summary><c>PUT /directory/room/{alias}</c>: 409 when taken, as Synapse answers.</summary>
    public void CreateAlias(string alias, string roomId)
    {
        if (!alias.StartsWith('#') || Ids.ServerOf(alias) != ServerName)
        {
            throw MatrixErrorException.InvalidParam("Room alias must be local");
        }

        lock (_gate)
        {
            if (_aliases.ContainsKey(alias))
            {
                throw MatrixErrorException.Unknown(409, $"Room alias {alias} already exists");
            }

            if (!_rooms.ContainsKey(roomId))
            {
                throw MatrixErrorException.NotFound("Room not found");
            }

            _aliases[alias] = roomId;
        }
    }

    // ---- Sending --------------------------------------------------------------------------------------------

    /// <summary>
    /// <c>PUT /rooms/{roomId}/send/{type}/{txnId}</c>. The same transaction id from the same device in the same
    /// room returns the first event id, whatever the content (CS API §"Transaction identifiers"; Synapse scopes
    /// it per device since 1.160's MSC3970 support).
    /// </summary>
    public string SendMessage(Session session, string roomId, string type, string txnId, JsonObject content)
    {
        lock (_gate)
        {
            var key = (session.UserId, session.DeviceId, roomId, txnId);
            if (_transactions.TryGetValue(key, out var existing))
            {
                return existing;
            }

            var room = _rooms.GetValueOrDefault(roomId) ?? throw MatrixErrorException.Forbidden($"User {session.UserId} not in room {roomId}");
            AuthRules.CheckSend(room, session.UserId, type, stateKey: null);
            ChargeRateLimit(session);
            var roomEvent = Persist(room, type, session.UserId, null, content, (session.DeviceId, txnId));
            _transactions[key] = roomEvent.EventId;
            return roomEvent.EventId;
        }
    }

    /// <summary>
    /// <c>PUT /rooms/{roomId}/state/{type}/{stateKey}</c>. Membership goes through the membership rules; an
    /// unchanged state event from the same sender is not sent again (Synapse deduplicates it).
    /// </summary>
    public string SendState(Session session, string roomId, string type, string stateKey, JsonObject content)
    {
        if (type == EventTypes.Member)
        {
            var membership = Json.OptionalString(content, "membership") ?? throw MatrixErrorException.MissingParams("membership");
            return UpdateMembership(session, roomId, stateKey, membership, content).EventId;
        }

        lock (_gate)
        {
            var room = _rooms.GetValueOrDefault(roomId) ?? throw MatrixErrorException.Forbidden($"User {session.UserId} not in room {roomId}");

            // Auth rule 1.1: a create event has no predecessors, so only createRoom can write one (Synapse's words).
            if (type == EventTypes.Create)
            {
                throw MatrixErrorException.InvalidParam("Cannot resend m.room.create event");
            }

            AuthRules.CheckSend(room, session.UserId, type, stateKey);
            if (type == EventTypes.PowerLevels)
            {
                PowerLevels.CheckChange(room, session.UserId, content);
            }

            if (room.GetState(type, stateKey) is { } current && current.Sender == session.UserId
                && JsonNode.DeepEquals(current.Content, content))
            {
                return current.EventId;
            }

            ChargeRateLimit(session);
            return Persist(room, type, session.UserId, stateKey, content).EventId;
        }
    }

    /// <summary>Typing notices and receipts are accepted from members only, and otherwise not modelled.</summary>
    public void RequireJoined(Session session, string roomId)
    {
        lock (_gate)
        {
            if (_rooms.GetValueOrDefault(roomId)?.MembershipOf(session.UserId) != Membership.Join)
            {
                throw MatrixErrorException.Forbidden($"User {session.UserId} not in room {roomId}");
            }
        }
    }

    // ---- Reading --------------------------------------------------------------------------------------------

    public JsonObject GetStateContent(Session session, string roomId, string type, string stateKey)
    {
        lock (_gate)
        {
            var state = VisibleState(session, roomId);
            return state.TryGetValue((type, stateKey), out var e)
                ? (JsonObject)e.Content.DeepClone()
                : throw MatrixErrorException.NotFound("Event not found.");
        }
    }

    public JsonArray GetFullState(Session session, string roomId)
    {
        lock (_gate)
        {
            var now = NowMs;
            return [.. VisibleState(session, roomId).Values.OrderBy(e => e.StreamPosition).Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: true))];
        }
    }

    /// <summary><c>GET /rooms/{roomId}/members</c> with the <c>membership</c> and <c>not_membership</c> filters.</summary>
    public JsonArray GetMembers(Session session, string roomId, string? membership, string? notMembership)
    {
        lock (_gate)
        {
            var now = NowMs;
            return [.. VisibleState(session, roomId).Values
                .Where(e => e.Type == EventTypes.Member)
                .Where(e => membership is null || e.Membership == membership)
                .Where(e => notMembership is null || e.Membership != notMembership)
                .OrderBy(e => e.StreamPosition)
                .Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: true))];
        }
    }

    public JsonObject GetJoinedMembers(Session session, string roomId)
    {
        lock (_gate)
        {
            var joined = new JsonObject();
            foreach (var member in VisibleState(session, roomId).Values.Where(e => e.Type == EventTypes.Member && e.Membership == Membership.Join))
            {
                joined[member.StateKey!] = new JsonObject
                {
                    ["avatar_url"] = member.Content["avatar_url"]?.DeepClone(),
                    ["display_name"] = member.Content["displayname"]?.DeepClone(),
                };
            }

            return joined;
        }
    }

    public JsonArray GetJoinedRooms(Session session)
    {
        lock (_gate)
        {
            return [.. _rooms.Values.Where(r => r.MembershipOf(session.UserId) == Membership.Join).Select(r => (JsonNode)r.RoomId)];
        }
    }

    /// <summary><c>GET /rooms/{roomId}/event/{eventId}</c>: visible to members, and to former members up to their departure.</summary>
    public JsonObject GetEvent(Session session, string roomId, string eventId)
    {
        lock (_gate)
        {
            var room = _rooms.GetValueOrDefault(roomId);
            var roomEvent = room?.Timeline.FirstOrDefault(e => e.EventId == eventId);
            if (room is null || roomEvent is null
                || (room.MembershipOf(session.UserId) != Membership.Join
                    && room.MemberEventAt(session.UserId, roomEvent.StreamPosition)?.Membership != Membership.Join))
            {
                throw MatrixErrorException.NotFound("Event not found.");
            }

            return roomEvent.ToClientEvent(NowMs, session.DeviceId, includeRoomId: true);
        }
    }

    /// <summary>
    /// The state a user may read: the current state while joined; the state at their departure after they
    /// left or were removed from a room they had joined (Synapse answers the same). Otherwise 403.
    /// </summary>
    private IReadOnlyDictionary<(string Type, string StateKey), RoomEvent> VisibleState(Session session, string roomId)
    {
        var room = _rooms.GetValueOrDefault(roomId);
        var member = room?.MemberEvent(session.UserId);
        if (room is not null && member is not null)
        {
            if (member.Membership == Membership.Join)
            {
                return room.State;
            }

            var index = room.IndexAfter(member.StreamPosition - 1);
            if (member.Membership is Membership.Leave or Membership.Ban && member.Replaces?.Membership == Membership.Join)
            {
                return room.StateBefore(index + 1);
            }
        }

        throw MatrixErrorException.Forbidden($"User {session.UserId} not in room {roomId}, and room previews are disabled");
    }

    /// <summary>The prejoin state for an invite or knock (CS API §"Stripped state"; Synapse's <c>room_prejoin_state</c>).</summary>
    private static JsonArray StrippedState(Room room, RoomEvent membershipEvent, long now, string viewerDeviceId)
    {
        var events = new JsonArray();
        foreach (var type in PrejoinStateTypes)
        {
            if (room.GetState(type) is { } e)
            {
                events.Add(e.ToStrippedState());
            }
        }

        if (membershipEvent.Membership == Membership.Invite && room.MemberEvent(membershipEvent.Sender) is { } inviter)
        {
            events.Add(inviter.ToStrippedState());
        }

        events.Add(membershipEvent.ToClientEvent(now, viewerDeviceId, includeRoomId: false));
        return events;
    }

    /// <summary>The three presets (CS API §createRoom <c>preset</c>) as Synapse configures them.</summary>
    private sealed record Preset(string Name, string JoinRule, bool GuestCanJoin, bool InviteesHaveOps, JsonObject PowerLevelOverride)
    {
        public static Preset For(JsonObject request)
        {
            var visibility = Json.OptionalString(request, "visibility") ?? "private";
            var name = Json.OptionalString(request, "preset") ?? (visibility == "public" ? "public_chat" : "private_chat");
            return name switch
            {
                "private_chat" => new(name, "invite", GuestCanJoin: true, InviteesHaveOps: false, new JsonObject { ["invite"] = 0 }),
                "trusted_private_chat" => new(name, "invite", GuestCanJoin: true, InviteesHaveOps: true, new JsonObject { ["invite"] = 0 }),
                "public_chat" => new(name, "public", GuestCanJoin: false, InviteesHaveOps: false, new JsonObject { [EventTypes.CallInvite] = 50 }),
                _ => throw MatrixErrorException.BadJson($"'{name}' is not a valid preset"),
            };
        }
    }
}
