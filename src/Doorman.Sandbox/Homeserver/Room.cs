using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// A room hosted here: its whole timeline (one linear history; there is no federation, so no forks) and its
/// current state. Not thread-safe: the engine's lock guards it.
/// </summary>
internal sealed class Room(string roomId, RoomVersion version)
{
    private readonly List<RoomEvent> _timeline = [];
    private readonly Dictionary<(string Type, string StateKey), RoomEvent> _state = [];

    public string RoomId { get; } = roomId;

    public RoomVersion Version { get; } = version;

    public IReadOnlyList<RoomEvent> Timeline => _timeline;

    public IReadOnlyDictionary<(string Type, string StateKey), RoomEvent> State => _state;

    public RoomEvent? GetState(string type, string stateKey = "") => _state.GetValueOrDefault((type, stateKey));

    public RoomEvent? MemberEvent(string userId) => GetState(EventTypes.Member, userId);

    /// <summary>The user's current membership: join, invite, leave, ban, knock, or null when never a member.</summary>
    public string? MembershipOf(string userId) => MemberEvent(userId)?.Membership;

    /// <summary>The join rule; a room without a usable one is treated as invite-only, as the auth rules read it.</summary>
    public string JoinRule => GetState(EventTypes.JoinRules) is { } rules ? Json.OptionalString(rules.Content, "join_rule") ?? "invite" : "invite";

    public RoomEvent Create => _state[(EventTypes.Create, "")];

    /// <summary>
    /// The room creators. Room v12 (rules intro): the create event's sender plus <c>additional_creators</c>.
    /// Earlier versions: the create sender (v11) or <c>content.creator</c> (v10 and before).
    /// </summary>
    public IReadOnlyList<string> Creators
    {
        get
        {
            var create = Create;
            if (!Version.ImplicitCreator)
            {
                return [create.Content["creator"]?.GetValue<string>() ?? create.Sender];
            }

            List<string> creators = [create.Sender];
            if (Version.CreatorsHaveInfinitePower && create.Content["additional_creators"] is JsonArray more)
            {
                creators.AddRange(more.Select(n => n!.GetValue<string>()).Where(id => !creators.Contains(id)));
            }

            return creators;
        }
    }

    public IEnumerable<RoomEvent> Members => _state.Values.Where(e => e.Type == EventTypes.Member);

    public IEnumerable<string> UsersWithMembership(params string[] memberships) =>
        Members.Where(e => memberships.Contains(e.Membership)).Select(e => e.StateKey!);

    public void Append(RoomEvent roomEvent)
    {
        _timeline.Add(roomEvent);
        if (roomEvent.StateKey is { } key)
        {
            _state[(roomEvent.Type, key)] = roomEvent;
        }
    }

    /// <summary>The state before the timeline event at <paramref name="index"/> (index = count gives current state).</summary>
    public Dictionary<(string Type, string StateKey), RoomEvent> StateBefore(int index)
    {
        var state = new Dictionary<(string Type, string StateKey), RoomEvent>();
        for (var i = 0; i < index; i++)
        {
            var e = _timeline[i];
            if (e.StateKey is { } key)
            {
                state[(e.Type, key)] = e;
            }
        }

        return state;
    }

    /// <summary>Index of the first timeline event after stream position <paramref name="position"/>.</summary>
    public int IndexAfter(long position)
    {
        var index = _timeline.Count;
        while (index > 0 && _timeline[index - 1].StreamPosition > position)
        {
            index--;
        }

        return index;
    }

    /// <summary>The user's member event as it stood at stream position <paramref name="position"/>.</summary>
    public RoomEvent? MemberEventAt(string userId, long position)
    {
        for (var i = IndexAfter(position) - 1; i >= 0; i--)
        {
            var e = _timeline[i];
            if (e.Type == EventTypes.Member && e.StateKey == userId)
            {
                return e;
            }
        }

        return null;
    }
}

/// <summary>Event types the server gives meaning to.</summary>
internal static class EventTypes
{
    public const string Create = "m.room.create";
    public const string Member = "m.room.member";
    public const string PowerLevels = "m.room.power_levels";
    public const string JoinRules = "m.room.join_rules";
    public const string HistoryVisibility = "m.room.history_visibility";
    public const string GuestAccess = "m.room.guest_access";
    public const string CanonicalAlias = "m.room.canonical_alias";
    public const string Name = "m.room.name";
    public const string Topic = "m.room.topic";
    public const string Avatar = "m.room.avatar";
    public const string Encryption = "m.room.encryption";
    public const string ServerAcl = "m.room.server_acl";
    public const string Tombstone = "m.room.tombstone";
    public const string CallInvite = "m.call.invite";
}

/// <summary>The <c>membership</c> values (CS API §"m.room.member").</summary>
internal static class Membership
{
    public const string Join = "join";
    public const string Invite = "invite";
    public const string Leave = "leave";
    public const string Ban = "ban";
    public const string Knock = "knock";
}
