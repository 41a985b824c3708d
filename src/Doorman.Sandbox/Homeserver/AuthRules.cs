namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// The state-dependent authorization rules (rooms v10–v12 §"Authorization rules", rules 5–9) applied to an event
/// this server is about to persist, with Synapse's wording for each refusal (synapse/event_auth.py).
/// Every refusal is 403 <c>M_FORBIDDEN</c>.
/// </summary>
internal static class AuthRules
{
    /// <summary>Rule 5: an <c>m.room.member</c> event from <paramref name="sender"/> about <paramref name="target"/>.</summary>
    public static void CheckMembership(Room room, string sender, string target, string membership, string? authorisingUser)
    {
        var levels = PowerLevels.Of(room);
        var senderMembership = room.MembershipOf(sender);
        var targetMembership = room.MembershipOf(target);
        var callerInRoom = senderMembership == Membership.Join;
        var callerInvited = senderMembership == Membership.Invite;
        var callerKnocked = senderMembership == Membership.Knock;
        var targetBanned = targetMembership == Membership.Ban;
        var targetInRoom = targetMembership == Membership.Join;
        var senderLevel = levels.UserLevel(sender);
        var targetLevel = levels.UserLevel(target);
        var joinRule = room.JoinRule;

        // Everything but join and knock needs the sender in the room, except withdrawing one's own invite or knock (5.5.1).
        if (membership is not Membership.Join and not Membership.Knock)
        {
            if ((callerInvited || callerKnocked) && membership == Membership.Leave && target == sender)
            {
                return;
            }

            if (!callerInRoom)
            {
                throw MatrixErrorException.Forbidden($"{sender} not in room {room.RoomId}.");
            }
        }

        switch (membership)
        {
            case Membership.Invite:
                // 5.4.3: the target may not be joined or banned; 5.4.4: the sender needs the invite level.
                if (targetBanned)
                {
                    throw MatrixErrorException.Forbidden($"{target} is banned from the room");
                }

                if (targetInRoom)
                {
                    throw MatrixErrorException.Forbidden($"{target} is already in the room.");
                }

                if (senderLevel < levels.Invite)
                {
                    throw MatrixErrorException.Forbidden("You don't have permission to invite users");
                }

                return;

            case Membership.Join:
                CheckJoin(room, sender, target, joinRule, callerInRoom, callerInvited, targetBanned, authorisingUser, levels);
                return;

            case Membership.Leave:
                // 5.5.3: lifting a ban needs the ban level; 5.5.4: a kick needs the kick level and a higher level than the target.
                if (targetBanned && senderLevel < levels.Ban)
                {
                    throw MatrixErrorException.Forbidden($"You cannot unban user {target}.");
                }

                if (target != sender && (senderLevel < levels.Kick || senderLevel <= targetLevel))
                {
                    throw MatrixErrorException.Forbidden($"You cannot kick user {target}.");
                }

                return;

            case Membership.Ban:
                // 5.6.2: the ban level, and a higher level than the target (so a v12 creator can never be banned).
                if (senderLevel < levels.Ban)
                {
                    throw MatrixErrorException.Forbidden("You don't have permission to ban");
                }

                if (senderLevel <= targetLevel)
                {
                    throw MatrixErrorException.Forbidden("You don't have permission to ban this user");
                }

                return;

            case Membership.Knock:
                // 5.7: only in knock / knock_restricted rooms (v7+ / v10+), only for oneself, and not when already
                // joined, invited or banned.
                if (joinRule is not "knock" and not "knock_restricted")
                {
                    throw MatrixErrorException.Forbidden("You don't have permission to knock");
                }

                if (target != sender)
                {
                    throw MatrixErrorException.Forbidden("You cannot knock for other users");
                }

                if (targetInRoom)
                {
                    throw MatrixErrorException.Forbidden("You cannot knock on a room you are already in");
                }

                if (callerInvited)
                {
                    throw MatrixErrorException.Forbidden("You are already invited to this room");
                }

                if (targetBanned)
                {
                    throw MatrixErrorException.Forbidden("You are banned from this room");
                }

                return;

            default:
                throw MatrixErrorException.Unknown(400, "Invalid membership key");
        }
    }

    private static void CheckJoin(
        Room room, string sender, string target, string joinRule, bool callerInRoom, bool callerInvited,
        bool targetBanned, string? authorisingUser, PowerLevels levels)
    {
        if (sender != target)
        {
            throw MatrixErrorException.Forbidden("Cannot force another user to join.");
        }

        if (targetBanned)
        {
            throw MatrixErrorException.Forbidden("You are banned from this room");
        }

        switch (joinRule)
        {
            case "public":
                return;

            case "restricted" or "knock_restricted":
                // 5.3.5: members and invitees need nothing more; anyone else needs a joined user with the invite level
                // to vouch for the join (join_authorised_via_users_server).
                if (callerInRoom || callerInvited)
                {
                    return;
                }

                if (authorisingUser is null)
                {
                    throw MatrixErrorException.Forbidden("Join event is missing authorising user.");
                }

                if (room.MembershipOf(authorisingUser) != Membership.Join || levels.UserLevel(authorisingUser) < levels.Invite)
                {
                    throw MatrixErrorException.Forbidden("Join event authorised by invalid server.");
                }

                return;

            case "invite" or "knock":
                // 5.3.4: only the invited (or the already joined) may join.
                if (!callerInRoom && !callerInvited)
                {
                    throw MatrixErrorException.Forbidden("You are not invited to this room.");
                }

                return;

            default:
                throw MatrixErrorException.Forbidden("You are not allowed to join this room");
        }
    }

    /// <summary>Rules 6, 8 and 9: any other event needs a joined sender with the event's required level.</summary>
    public static void CheckSend(Room room, string sender, string type, string? stateKey)
    {
        if (room.MembershipOf(sender) != Membership.Join)
        {
            throw MatrixErrorException.Forbidden($"User {sender} not in room {room.RoomId}");
        }

        var levels = PowerLevels.Of(room);
        var required = levels.RequiredToSend(type, stateKey is not null);
        var level = levels.UserLevel(sender);
        if (level < required)
        {
            throw MatrixErrorException.Forbidden(
                $"You don't have permission to post that to the room. user_level ({PowerLevels.Describe(level)}) < send_level ({required})");
        }

        if (stateKey is not null && stateKey.StartsWith('@') && stateKey != sender)
        {
            throw MatrixErrorException.Forbidden("You are not allowed to set others state");
        }
    }
}
