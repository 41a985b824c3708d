using System.Globalization;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// <c>GET /rooms/{roomId}/messages</c> (CS API v1.12 §"Getting events for a room"), with Synapse's rules
/// (synapse/handlers/pagination.py, synapse/streams/config.py).
/// <para>
/// Tokens are the sync stream's: <c>sN</c> stands between the event at position N and the next one, so a sync's
/// <c>prev_batch</c> or <c>next_batch</c> and an earlier <c>end</c> all work as <c>from</c> or <c>to</c>. Backwards
/// from <c>sN</c> returns events at positions ≤ N, newest first, down to (not including) <c>to</c>'s; forwards,
/// positions after N, oldest first, up to and including <c>to</c>'s. Synapse's <c>end</c> going backwards is the last
/// event's position minus one ("tokens are considered to be after the row they are in", storage/databases/main/stream.py),
/// which here is <c>s(position − 1)</c>; going forwards, the last event's position.
/// </para>
/// </summary>
internal sealed partial class HomeserverEngine
{
    /// <summary>Synapse's <c>MAX_LIMIT</c> for pagination (streams/config.py); larger limits are lowered to it.</summary>
    public const int MaxMessagesLimit = 1000;

    /// <summary>One page of a room's history for the user; what a user may see is the history-visibility rule below.</summary>
    public JsonObject GetMessages(Session session, string roomId, string? from, string? to, bool backwards, int limit, EventFilter filter, bool lazyLoadMembers)
    {
        lock (_gate)
        {
            long? fromPosition = from is null ? null : ParsePaginationToken(from, "'from' parameter is invalid");
            long? toPosition = to is null ? null : ParsePaginationToken(to, "'to' parameter is invalid");

            // Synapse's check_user_in_room_or_world_readable(allow_departed_users=True): joined, or left (kicked
            // included) and not forgotten. Invited, knocking, banned and never-members get 403, as does an unknown room.
            var room = _rooms.GetValueOrDefault(roomId);
            var member = room?.MemberEvent(session.UserId);
            if (room is null || member is null
                || !(member.Membership == Membership.Join
                    || (member.Membership == Membership.Leave && !AccountOf(session.UserId).ForgottenRooms.Contains(roomId))))
            {
                throw MatrixErrorException.Forbidden($"User {session.UserId} not in room {roomId}, and room previews are disabled");
            }

            // History visibility "shared" (the only one modelled; CS API §"History visibility"): a member sees the
            // whole history, including what came before they joined; one who left sees it up to and including
            // their leave (Synapse clamps the token to the leave event). Nothing after it.
            var visibleEnd = member.Membership == Membership.Join ? room.Timeline.Count : room.IndexAfter(member.StreamPosition);
            var chunk = new List<RoomEvent>();
            if (backwards)
            {
                var start = fromPosition is { } f ? Math.Min(room.IndexAfter(f), visibleEnd) : visibleEnd;
                for (var i = start - 1; i >= 0 && chunk.Count < limit && (toPosition is null || room.Timeline[i].StreamPosition > toPosition); i--)
                {
                    if (filter.Matches(room.Timeline[i].Type, room.Timeline[i].Sender))
                    {
                        chunk.Add(room.Timeline[i]);
                    }
                }
            }
            else
            {
                var start = fromPosition is { } f ? room.IndexAfter(f) : 0;
                for (var i = start; i < visibleEnd && chunk.Count < limit && (toPosition is null || room.Timeline[i].StreamPosition <= toPosition); i++)
                {
                    if (filter.Matches(room.Timeline[i].Type, room.Timeline[i].Sender))
                    {
                        chunk.Add(room.Timeline[i]);
                    }
                }
            }

            var now = NowMs;
            var response = new JsonObject
            {
                ["chunk"] = new JsonArray([.. chunk.Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: true))]),
                ["start"] = from ?? StreamToken(backwards ? _stream : 0),
            };

            // "If no further events are available … this property is omitted": Synapse omits it exactly when the
            // page is empty; a full last page still has an end, and the next request gets the empty page. A page
            // of limit 0 is empty but keeps its place: its end is its start (Synapse 1.160, probed).
            if (limit == 0)
            {
                response["end"] = response["start"]!.DeepClone();
            }
            else if (chunk.Count > 0)
            {
                response["end"] = StreamToken(backwards ? chunk[^1].StreamPosition - 1 : chunk[^1].StreamPosition);
                if (lazyLoadMembers)
                {
                    // Synapse: with lazy_load_members, the member events of the chunk's senders, as of its first event.
                    var senders = chunk.Select(e => e.Sender).ToHashSet(StringComparer.Ordinal);
                    var state = room.StateBefore(room.IndexAfter(chunk[0].StreamPosition - 1)).Values
                        .Where(e => e.Type == EventTypes.Member && senders.Contains(e.StateKey!));
                    response["state"] = new JsonArray([.. state.Select(e => (JsonNode)e.ToClientEvent(now, session.DeviceId, includeRoomId: true))]);
                }
            }

            return response;
        }
    }

    /// <summary>A pagination token; Synapse answers one it cannot parse with 400 <c>M_UNKNOWN</c> and names the parameter.</summary>
    private long ParsePaginationToken(string token, string invalid)
    {
        if (token.Length < 2 || token[0] != 's'
            || !long.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            throw MatrixErrorException.Unknown(400, invalid);
        }

        return Math.Min(position, _stream);
    }
}
