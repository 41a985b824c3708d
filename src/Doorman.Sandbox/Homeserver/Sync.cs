using System.Globalization;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// <c>GET /sync</c> (CS API §"Syncing"). A stream token is <c>s</c> and a position in the server-wide stream, so
/// tokens stay valid for the life of the server (across <see cref="SandboxHomeserver.RestartAsync"/>).
/// </summary>
internal sealed partial class HomeserverEngine
{
    /// <summary>
    /// Computes one sync response. When it holds nothing new, <see cref="SyncBatch.Wakeup"/> completes as soon as
    /// something reaches the user; it was taken under the same lock, so nothing is missed in between.
    /// </summary>
    public SyncBatch Sync(Session session, string? since, SyncFilter filter, bool fullState)
    {
        lock (_gate)
        {
            long? from = since is null ? null : ParseStreamToken(since);
            var account = AccountOf(session.UserId);
            var now = NowMs;

            var join = new JsonObject();
            var invite = new JsonObject();
            var leave = new JsonObject();
            var knock = new JsonObject();
            foreach (var room in _rooms.Values)
            {
                if (!filter.Room.Includes(room.RoomId) || room.MemberEvent(session.UserId) is not { } member)
                {
                    continue;
                }

                switch (member.Membership)
                {
                    case Membership.Join when JoinedRoom(room, session, from, filter, fullState, now) is { } joined:
                        join[room.RoomId] = joined;
                        break;
                    case Membership.Invite when from is null || member.StreamPosition > from:
                        invite[room.RoomId] = new JsonObject { ["invite_state"] = new JsonObject { ["events"] = StrippedState(room, member, now, session.DeviceId) } };
                        break;
                    case Membership.Knock when from is null || member.StreamPosition > from:
                        knock[room.RoomId] = new JsonObject { ["knock_state"] = new JsonObject { ["events"] = StrippedState(room, member, now, session.DeviceId) } };
                        break;
                    case Membership.Leave or Membership.Ban when !account.ForgottenRooms.Contains(room.RoomId)
                        && LeftRoom(room, session, member, from, filter, now) is { } left:
                        leave[room.RoomId] = left;
                        break;
                }
            }

            var accountData = new JsonArray();
            foreach (var (type, (content, position)) in account.AccountData.OrderBy(kv => kv.Value.Position))
            {
                if ((from is null || position > from) && filter.AccountData.Matches(type, sender: null))
                {
                    accountData.Add(new JsonObject { ["type"] = type, ["content"] = content.DeepClone() });
                }
            }

            var response = new JsonObject { ["next_batch"] = StreamToken(_stream) };
            var isEmpty = true;
            if (accountData.Count > 0 || from is null)
            {
                response["account_data"] = new JsonObject { ["events"] = accountData };
                isEmpty &= accountData.Count == 0;
            }

            var rooms = new JsonObject();
            foreach (var (name, section) in (ReadOnlySpan<(string, JsonObject)>)[("join", join), ("invite", invite), ("leave", leave), ("knock", knock)])
            {
                if (section.Count > 0)
                {
                    rooms[name] = section;
                    isEmpty = false;
                }
            }

            if (rooms.Count > 0)
            {
                response["rooms"] = rooms;
            }

            // CS API §"Extensions to /sync" (E2EE). Synapse leaves out empty to_device and device_lists sections, and
            // sends device_lists only on incremental syncs; the key counts are always there.
            var toDevice = ToDeviceEvents(session, from);
            if (toDevice.Count > 0)
            {
                response["to_device"] = new JsonObject { ["events"] = toDevice };
                isEmpty = false;
            }

            if (from is not null)
            {
                var (changed, left) = DeviceLists(session, from.Value);
                var deviceLists = new JsonObject();
                if (changed.Count > 0)
                {
                    deviceLists["changed"] = new JsonArray([.. changed.Order(StringComparer.Ordinal).Select(u => (JsonNode)u)]);
                }

                if (left.Count > 0)
                {
                    deviceLists["left"] = new JsonArray([.. left.Order(StringComparer.Ordinal).Select(u => (JsonNode)u)]);
                }

                if (deviceLists.Count > 0)
                {
                    response["device_lists"] = deviceLists;
                    isEmpty = false;
                }
            }

            var (counts, unusedFallbackTypes) = KeyCounts(session);
            response["device_one_time_keys_count"] = counts;
            response["device_unused_fallback_key_types"] = unusedFallbackTypes;
            return new SyncBatch(response, isEmpty, isEmpty ? _signals.WaitFor(session.UserId) : Task.CompletedTask);
        }
    }

    /// <summary>
    /// A joined room's section. Initial sync, a room joined since the token, and <c>full_state</c> get the state at
    /// the start of the timeline; an incremental sync gets the events since the token (the last <c>limit</c> of
    /// them, <c>limited</c> when more) and, when limited, the state changes it skipped. Null when nothing changed.
    /// </summary>
    private static JsonObject? JoinedRoom(Room room, Session session, long? from, SyncFilter filter, bool fullState, long now)
    {
        var newlyJoined = from is null || room.MemberEventAt(session.UserId, from.Value)?.Membership != Membership.Join;
        var start = newlyJoined ? 0 : room.IndexAfter(from!.Value);
        if (!newlyJoined && !fullState && start == room.Timeline.Count)
        {
            return null;
        }

        var (events, limited, timelineStart) = Window(room, start, room.Timeline.Count, filter.Room.Timeline, e => true);
        // Synapse (handlers/sync.py, _load_filtered_recents) returns `limited or newly_joined_room`: a room joined
        // since the token is always limited, even when its whole history fits. Initial syncs are not.
        limited |= newlyJoined && from is not null;
        var stateAtStart = room.StateBefore(timelineStart);
        var state = newlyJoined || fullState
            ? stateAtStart.Values
            : limited ? stateAtStart.Values.Where(e => e.StreamPosition > from) : [];

        return new JsonObject
        {
            ["timeline"] = Timeline(room, events, limited, timelineStart, session, now),
            ["state"] = new JsonObject { ["events"] = StateEvents(state, filter.Room.State, session, now) },
            ["account_data"] = new JsonObject { ["events"] = new JsonArray() },
            ["ephemeral"] = new JsonObject { ["events"] = new JsonArray() },
            ["summary"] = new JsonObject(),
            ["unread_notifications"] = new JsonObject { ["notification_count"] = 0, ["highlight_count"] = 0 },
        };
    }

    /// <summary>
    /// A room the user left or was removed from since the token: the timeline up to and including their own
    /// leave, kick or ban. Someone who never joined sees only their own membership events. Initial syncs list
    /// such rooms only with <c>include_leave</c>.
    /// </summary>
    private static JsonObject? LeftRoom(Room room, Session session, RoomEvent member, long? from, SyncFilter filter, long now)
    {
        if (from is null ? !filter.Room.IncludeLeave : member.StreamPosition <= from)
        {
            return null;
        }

        var wasJoined = from is not null && room.MemberEventAt(session.UserId, from.Value)?.Membership == Membership.Join;
        var start = from is null ? 0 : room.IndexAfter(from.Value);
        var end = room.IndexAfter(member.StreamPosition);
        var (events, limited, timelineStart) = Window(room, start, end, filter.Room.Timeline,
            e => wasJoined || (e.Type == EventTypes.Member && e.StateKey == session.UserId));
        return new JsonObject
        {
            ["timeline"] = Timeline(room, events, limited, timelineStart, session, now),
            ["state"] = new JsonObject { ["events"] = new JsonArray() },
            ["account_data"] = new JsonObject { ["events"] = new JsonArray() },
        };
    }

    /// <summary>The last <c>limit</c> visible events of timeline[start..end) that pass the filter.</summary>
    private static (List<RoomEvent> Events, bool Limited, int TimelineStart) Window(
        Room room, int start, int end, EventFilter filter, Func<RoomEvent, bool> visible)
    {
        List<int> candidates = [];
        for (var i = start; i < end; i++)
        {
            var e = room.Timeline[i];
            if (visible(e) && filter.Matches(e.Type, e.Sender))
            {
                candidates.Add(i);
            }
        }

        var limit = filter.Limit ?? SyncFilter.DefaultTimelineLimit;
        var chosen = candidates.Skip(Math.Max(0, candidates.Count - limit)).ToList();
        return ([.. chosen.Select(i => room.Timeline[i])], candidates.Count > limit, chosen.Count > 0 ? chosen[0] : end);
    }

    private static JsonObject Timeline(Room room, List<RoomEvent> events, bool limited, int timelineStart, Session session, long now) => new()
    {
        ["events"] = new JsonArray([.. events.Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: false))]),
        ["limited"] = limited,
        ["prev_batch"] = StreamToken(timelineStart > 0 ? room.Timeline[timelineStart - 1].StreamPosition : 0),
    };

    private static JsonArray StateEvents(IEnumerable<RoomEvent> state, EventFilter filter, Session session, long now) =>
        [.. state.Where(e => filter.Matches(e.Type, e.Sender)).OrderBy(e => e.StreamPosition)
            .Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: false))];

    private static string StreamToken(long position) => "s" + position.ToString(CultureInfo.InvariantCulture);

    /// <summary>Synapse answers a token it cannot parse with 400 <c>M_UNKNOWN</c> "Invalid stream token".</summary>
    private long ParseStreamToken(string token)
    {
        if (token.Length < 2 || token[0] != 's'
            || !long.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            throw MatrixErrorException.Unknown(400, "Invalid stream token");
        }

        return Math.Min(position, _stream);
    }
}

/// <summary>One computed sync response; <see cref="Wakeup"/> completes when the user has something new.</summary>
internal sealed record SyncBatch(JsonObject Response, bool IsEmpty, Task Wakeup);
