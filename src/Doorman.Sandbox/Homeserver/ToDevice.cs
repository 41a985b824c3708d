using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// Send-to-device messaging (CS API v1.12 §"Send-to-Device messaging") and the end-to-end encryption parts of
/// <c>/sync</c> (§"Extensions to /sync" of the E2EE module), as Synapse answers them (synapse/handlers/devicemessage.py,
/// synapse/handlers/sync.py <c>_generate_sync_entry_for_to_device</c>, synapse/handlers/device.py
/// <c>get_user_ids_changed</c>).
/// </summary>
internal sealed partial class HomeserverEngine
{
    /// <summary>
    /// <c>PUT /sendToDevice/{eventType}/{txnId}</c>: <c>messages</c> maps users to device ids (or <c>*</c>, every device)
    /// to contents. A device the user does not have is skipped, as is a user unknown here (no federation).
    /// Idempotent per sending device, event type and transaction id: Synapse keys its transaction cache on the request
    /// path and the requester's user and device (MSC3970), not on the access token.
    /// </summary>
    public void SendToDevice(Session session, string eventType, string txnId, JsonObject body)
    {
        if (body["messages"] is null)
        {
            throw MatrixErrorException.MissingParams("messages");
        }

        if (body["messages"] is not JsonObject messages || messages.Any(kv => kv.Value is not JsonObject byDevice || byDevice.Any(d => d.Value is not JsonObject)))
        {
            throw MatrixErrorException.BadJson("messages must map user ids to device ids to JSON objects");
        }

        lock (_gate)
        {
            if (!_toDeviceTransactions.Add((session.UserId, session.DeviceId, eventType, txnId)))
            {
                return;
            }

            var position = ++_stream;
            foreach (var (userId, byDevice) in messages)
            {
                if (!_accounts.TryGetValue(userId, out var account))
                {
                    continue;
                }

                // The spec reads "*" as all the user's devices. Synapse (deviceinbox.py,
                // _add_messages_to_local_device_inbox_txn) does so only when "*" is the user's one entry; beside other
                // device ids it is looked up as a device id like them, and names none.
                var wildcard = byDevice!.AsObject().Count == 1 && byDevice.AsObject().ContainsKey("*");
                foreach (var (deviceId, content) in byDevice.AsObject())
                {
                    var targets = wildcard
                        ? account.Devices.Values.ToList()
                        : account.Devices.TryGetValue(deviceId, out var device) ? [device] : [];
                    foreach (var target in targets)
                    {
                        target.Inbox.Add(new ToDeviceMessage(position, new JsonObject
                        {
                            ["content"] = content!.DeepClone(),
                            ["type"] = eventType,
                            ["sender"] = session.UserId,
                        }));
                    }
                }

                _signals.Notify(userId);
            }
        }
    }

    /// <summary>
    /// Caller holds the lock. The syncing device's to-device events: a sync whose <c>since</c> is at or after an
    /// event's position acknowledges it, and it is deleted; everything left is sent (again, until acknowledged).
    /// Synapse sends at most 100 per sync and moves only the to-device part of its token; our single-position
    /// token cannot, so every pending event is sent at once.
    /// </summary>
    private JsonArray ToDeviceEvents(Session session, long? from)
    {
        if (!AccountOf(session.UserId).Devices.TryGetValue(session.DeviceId, out var device))
        {
            return [];
        }

        if (from is { } acknowledged)
        {
            device.Inbox.RemoveAll(m => m.Position <= acknowledged);
        }

        return [.. device.Inbox.Select(m => (JsonNode)m.Event.DeepClone())];
    }

    /// <summary>Caller holds the lock. The device's one-time key counts and unused fallback key types, for /sync.</summary>
    private (JsonObject Counts, JsonArray UnusedFallbackTypes) KeyCounts(Session session) =>
        AccountOf(session.UserId).Devices.TryGetValue(session.DeviceId, out var device)
            ? (OneTimeKeyCounts(device), UnusedFallbackKeyTypes(device))
            : (new JsonObject { ["signed_curve25519"] = 0 }, []);

    /// <summary>
    /// Caller holds the lock. <c>device_lists</c> of an incremental sync, as Synapse's <c>get_user_ids_changed</c> computes
    /// it: <c>changed</c> holds the users sharing a joined room with the syncing user (and the user), whose devices or
    /// master or self-signing keys changed since the token; everyone in a room the user newly joined; whoever newly
    /// joined, was invited to or knocked on one of the user's rooms; and users whose keys the user's own signatures
    /// changed. <c>left</c> holds the users who left the user's rooms, or were in rooms the user left, and share no
    /// joined room with the user any more. Initial syncs have no <c>device_lists</c>.
    /// </summary>
    private (HashSet<string> Changed, HashSet<string> Left) DeviceLists(Session session, long from)
    {
        var userId = session.UserId;
        var joinedRooms = _rooms.Values.Where(r => r.MembershipOf(userId) == Membership.Join).ToList();
        var sharing = new HashSet<string>(StringComparer.Ordinal) { userId };
        foreach (var room in joinedRooms)
        {
            sharing.UnionWith(room.UsersWithMembership(Membership.Join));
        }

        var changed = sharing.Where(u => _accounts.TryGetValue(u, out var a) && a.DeviceListPosition > from).ToHashSet(StringComparer.Ordinal);
        changed.UnionWith(AccountOf(userId).SignatureChanges.Where(kv => kv.Value > from).Select(kv => kv.Key));

        var newlyJoinedUsers = new HashSet<string>(StringComparer.Ordinal);
        var newlyLeftUsers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var room in _rooms.Values)
        {
            var wasJoined = room.MemberEventAt(userId, from)?.Membership == Membership.Join;
            var isJoined = room.MembershipOf(userId) == Membership.Join;
            if (isJoined && !wasJoined)
            {
                newlyJoinedUsers.UnionWith(room.UsersWithMembership(Membership.Join));
            }
            else if (wasJoined && !isJoined)
            {
                newlyLeftUsers.UnionWith(room.UsersWithMembership(Membership.Join));
            }
        }

        // Membership changes of others in the rooms the user is in now, one state change at a time.
        string[] present = [Membership.Join, Membership.Invite, Membership.Knock];
        foreach (var room in joinedRooms)
        {
            for (var i = room.IndexAfter(from); i < room.Timeline.Count; i++)
            {
                var e = room.Timeline[i];
                if (e.Type != EventTypes.Member)
                {
                    continue;
                }

                var now = present.Contains(e.Membership);
                var before = present.Contains(e.Replaces?.Membership);
                if (now && !before)
                {
                    newlyJoinedUsers.Add(e.StateKey!);
                    newlyLeftUsers.Remove(e.StateKey!);
                }
                else if (before && !now)
                {
                    newlyJoinedUsers.Remove(e.StateKey!);
                    newlyLeftUsers.Add(e.StateKey!);
                }
            }
        }

        changed.UnionWith(newlyJoinedUsers);
        newlyLeftUsers.ExceptWith(sharing);
        return (changed, newlyLeftUsers);
    }
}
