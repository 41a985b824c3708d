using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// Membership changes (CS API §"Room membership"): Synapse's checks in synapse/handlers/room_member.py first
/// (unknown rooms, banned users, no-op repeats, kicking absent users), then the auth rules, then the rate limit.
/// </summary>
internal sealed partial class HomeserverEngine
{
    /// <summary>
    /// Changes <paramref name="target"/>'s membership of a room. <paramref name="action"/> is a membership
    /// (join, invite, leave, ban, knock) or one of the actions <c>kick</c> and <c>unban</c>, which become
    /// <c>leave</c>. Returns the new event, or the current one when the request changes nothing.
    /// </summary>
    public RoomEvent UpdateMembership(Session session, string roomIdOrAlias, string target, string action, JsonObject? content, string? reason = null)
    {
        if (!Ids.IsValidUserId(target))
        {
            throw MatrixErrorException.InvalidParam($"Invalid user_id: {target}");
        }

        var roomId = roomIdOrAlias.StartsWith('#') ? ResolveAlias(roomIdOrAlias) : roomIdOrAlias;
        lock (_gate)
        {
            var room = _rooms.GetValueOrDefault(roomId) ?? throw UnknownRoom(action);
            var sender = session.UserId;
            var effective = action is "kick" or "unban" ? Membership.Leave : action;
            if (effective is not (Membership.Join or Membership.Invite or Membership.Leave or Membership.Ban or Membership.Knock))
            {
                throw MatrixErrorException.Unknown(400, "Invalid membership key");
            }

            var newContent = content?.DeepClone() as JsonObject ?? [];
            newContent.Remove("join_authorised_via_users_server"); // only the server may vouch for a join
            newContent["membership"] = effective;
            if (reason is not null)
            {
                newContent["reason"] = reason;
            }

            // Synapse adds the target's profile to joins, knocks and invites (include_profile_data_on_invite).
            if (effective is Membership.Join or Membership.Knock or Membership.Invite && !newContent.ContainsKey("displayname"))
            {
                newContent["displayname"] = DisplayNameOf(target);
            }

            var old = room.MemberEvent(target);
            if (old is not null)
            {
                var oldMembership = old.Membership;
                if (action == "unban" && oldMembership != Membership.Ban)
                {
                    throw MatrixErrorException.BadState($"Cannot unban user who was not banned (membership={oldMembership})");
                }

                if (oldMembership == Membership.Ban && action is not (Membership.Ban or "unban" or Membership.Leave))
                {
                    throw MatrixErrorException.BadState($"Cannot {action} user who was banned");
                }

                // Repeating a membership change with the same content is a no-op that returns the existing event:
                // a second invite, a join while joined, a second knock.
                if (old.Sender == sender && oldMembership == effective && JsonNode.DeepEquals(old.Content, newContent))
                {
                    return old;
                }

                if (oldMembership is Membership.Ban or Membership.Leave && action == "kick")
                {
                    throw MatrixErrorException.Forbidden("The target user is not in the room");
                }
            }
            else if (action == "kick")
            {
                throw MatrixErrorException.Forbidden("The target user is not in the room");
            }

            string? authorisingUser = null;
            if (effective == Membership.Join && old?.Membership is not (Membership.Join or Membership.Invite)
                && room.JoinRule is "restricted" or "knock_restricted")
            {
                authorisingUser = AuthoriseRestrictedJoin(room, target);
                newContent["join_authorised_via_users_server"] = authorisingUser;
            }

            AuthRules.CheckMembership(room, sender, target, effective, authorisingUser);
            ChargeRateLimit(session);
            var roomEvent = Persist(room, EventTypes.Member, sender, target, newContent);
            if (effective is Membership.Join or Membership.Invite or Membership.Knock && _accounts.TryGetValue(target, out var account))
            {
                account.ForgottenRooms.Remove(room.RoomId);
            }

            return roomEvent;
        }
    }

    /// <summary><c>POST /rooms/{roomId}/forget</c>: only after leaving; hides the room from later syncs.</summary>
    public void Forget(Session session, string roomId)
    {
        lock (_gate)
        {
            var membership = _rooms.GetValueOrDefault(roomId)?.MembershipOf(session.UserId);
            if (membership is not null and not (Membership.Leave or Membership.Ban))
            {
                throw MatrixErrorException.Unknown(400, $"User {session.UserId} in room {roomId}");
            }

            AccountOf(session.UserId).ForgottenRooms.Add(roomId);
        }
    }

    /// <summary>
    /// Restricted rooms (rooms v8+ join rules; Synapse's check_restricted_join_rules): the joiner must be in one
    /// of the <c>allow</c> rooms, and a joined user who may invite vouches for the join (the creator first).
    /// </summary>
    private string AuthoriseRestrictedJoin(Room room, string userId)
    {
        var allow = room.GetState(EventTypes.JoinRules)?.Content["allow"] as JsonArray ?? [];
        var allowed = allow.OfType<JsonObject>()
            .Where(rule => Json.OptionalString(rule, "type") == "m.room_membership")
            .Select(rule => Json.OptionalString(rule, "room_id"))
            .Any(id => id is not null && _rooms.GetValueOrDefault(id)?.MembershipOf(userId) == Membership.Join);
        if (!allowed)
        {
            throw MatrixErrorException.Forbidden("You do not belong to any of the required rooms/spaces to join this room.");
        }

        var levels = PowerLevels.Of(room);
        var joined = room.UsersWithMembership(Membership.Join).ToList();
        return room.Creators.Where(joined.Contains).Concat(joined.OrderByDescending(levels.UserLevel))
            .FirstOrDefault(u => levels.UserLevel(u) >= levels.Invite)
            ?? throw MatrixErrorException.Unknown(400, "Unable to find a user which could issue an invite");
    }

    /// <summary>What Synapse answers for a room it does not know, which depends on the action.</summary>
    private static MatrixErrorException UnknownRoom(string action) => action switch
    {
        Membership.Join => MatrixErrorException.Unknown(404, "Can't join remote room because no servers that are in the room have been provided."),
        Membership.Knock => MatrixErrorException.Unknown(404, "No known servers"),
        Membership.Invite or Membership.Ban => MatrixErrorException.Forbidden("Unknown room"),
        _ => MatrixErrorException.Unknown(404, "Not a known room"),
    };

    /// <summary>The content of a membership event this server writes itself (creator join, createRoom invites).</summary>
    private JsonObject MemberContent(string membership, string userId, string? reason)
    {
        var content = new JsonObject { ["membership"] = membership, ["displayname"] = DisplayNameOf(userId) };
        if (reason is not null)
        {
            content["reason"] = reason;
        }

        return content;
    }
}
