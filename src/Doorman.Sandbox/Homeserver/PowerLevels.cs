using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// Power levels as the auth rules read them (CS API §"m.room.power_levels", rooms v12 §"Authorization rules").
/// A v12 creator's level is <see cref="Infinite"/>: above every integer a power-levels event can hold.
/// </summary>
internal sealed class PowerLevels
{
    /// <summary>Room v12: "The power level of room creators is infinitely high."</summary>
    public const long Infinite = long.MaxValue;

    private readonly JsonObject? _content;
    private readonly IReadOnlyList<string> _creators;
    private readonly bool _creatorsInfinite;

    private PowerLevels(JsonObject? content, IReadOnlyList<string> creators, bool creatorsInfinite)
    {
        _content = content;
        _creators = creators;
        _creatorsInfinite = creatorsInfinite;
    }

    public static PowerLevels Of(Room room) =>
        new(room.GetState(EventTypes.PowerLevels)?.Content, room.Creators, room.Version.CreatorsHaveInfinitePower);

    /// <summary>The levels a proposed <c>m.room.power_levels</c> content would set.</summary>
    public static PowerLevels Proposed(Room room, JsonObject content) =>
        new(content, room.Creators, room.Version.CreatorsHaveInfinitePower);

    // Defaults: "users_default ... 0", "state_default ... 50 ... 0 if there is no m.room.power_levels event",
    // "kick/ban/redact ... 50", "invite ... 0" (CS API §"m.room.power_levels").
    public long Invite => Named("invite", 0);

    public long Kick => Named("kick", 50);

    public long Ban => Named("ban", 50);

    public long Redact => Named("redact", 50);

    public long UsersDefault => Named("users_default", 0);

    public long UserLevel(string userId)
    {
        if (_creatorsInfinite && _creators.Contains(userId))
        {
            return Infinite;
        }

        if (_content is null)
        {
            // No power-levels event: "the room creator has power level 100 and all others 0".
            return _creators.Contains(userId) ? 100 : 0;
        }

        return _content["users"] is JsonObject users && users[userId] is { } level ? ToLong(level) : UsersDefault;
    }

    /// <summary>The level needed to send an event of this type: <c>events[type]</c>, else the state or events default.</summary>
    public long RequiredToSend(string type, bool isState)
    {
        if (_content?["events"] is JsonObject events && events[type] is { } level)
        {
            return ToLong(level);
        }

        return isState ? Named("state_default", _content is null ? 0 : 50) : Named("events_default", 0);
    }

    /// <summary>For messages; creators print as a large number but are never compared this way.</summary>
    public static string Describe(long level) => level == Infinite ? "infinite" : level.ToString(CultureInfo.InvariantCulture);

    private long Named(string key, long fallback) => _content?[key] is { } node ? ToLong(node) : fallback;

    private static long ToLong(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Number when Json.TryGetNumber(node, out var d) => (long)d,
        JsonValueKind.String when long.TryParse(node.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
        _ => 0,
    };

    /// <summary>
    /// Rooms v12 §"Authorization rules" 10: checks a new <c>m.room.power_levels</c> content against the current
    /// levels of <paramref name="sender"/>, with Synapse's messages. Shape errors are 400s, as Synapse gives them.
    /// </summary>
    public static void CheckChange(Room room, string sender, JsonObject proposed)
    {
        ValidateShape(room, proposed);

        var current = room.GetState(EventTypes.PowerLevels)?.Content;
        if (current is null)
        {
            return; // 10.5: no previous power levels event: allow.
        }

        var senderLevel = Of(room).UserLevel(sender);

        // 10.6: the top-level levels that were added, changed or removed.
        foreach (var key in (string[])["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"])
        {
            CheckEntry(current[key], proposed[key], senderLevel, isOtherUser: false);
        }

        // 10.7 / 10.8: entries of events and notifications.
        foreach (var section in (string[])["events", "notifications"])
        {
            var before = current[section] as JsonObject;
            var after = proposed[section] as JsonObject;
            foreach (var key in Keys(before).Union(Keys(after)))
            {
                CheckEntry(before?[key], after?[key], senderLevel, isOtherUser: false);
            }
        }

        // 10.9 / 10.10: entries of users; another user's entry may not be changed when at or above ours.
        var usersBefore = current["users"] as JsonObject;
        var usersAfter = proposed["users"] as JsonObject;
        foreach (var user in Keys(usersBefore).Union(Keys(usersAfter)))
        {
            CheckEntry(usersBefore?[user], usersAfter?[user], senderLevel, isOtherUser: user != sender);
        }
    }

    private static void CheckEntry(JsonNode? before, JsonNode? after, long senderLevel, bool isOtherUser)
    {
        long? oldLevel = before is null ? null : ToLong(before);
        long? newLevel = after is null ? null : ToLong(after);
        if (oldLevel == newLevel)
        {
            return;
        }

        if (isOtherUser && oldLevel == senderLevel)
        {
            throw MatrixErrorException.Forbidden("You don't have permission to remove ops level equal to your own");
        }

        if (oldLevel > senderLevel || newLevel > senderLevel)
        {
            throw MatrixErrorException.Forbidden("You don't have permission to add ops level greater than your own");
        }
    }

    /// <summary>Rules 10.1–10.4: integer levels (v10+), valid user ids, and (v12) no creator in <c>users</c>.</summary>
    public static void ValidateShape(Room room, JsonObject content)
    {
        foreach (var key in (string[])["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"])
        {
            if (content[key] is { } value && !IsInteger(value))
            {
                throw MatrixErrorException.BadJson($"\"{key}\": {value.ToJsonString()} is not of type 'integer'");
            }
        }

        foreach (var section in (string[])["events", "notifications", "users"])
        {
            if (content[section] is null)
            {
                continue;
            }

            if (content[section] is not JsonObject map || map.Any(kv => kv.Value is null || !IsInteger(kv.Value)))
            {
                throw MatrixErrorException.BadJson($"\"{section}\" must be an object wherein all the values are integers.");
            }
        }

        if (content["users"] is JsonObject users)
        {
            foreach (var (user, _) in users)
            {
                if (!Ids.IsValidUserId(user))
                {
                    throw MatrixErrorException.Unknown(400, $"Not a valid user_id: {user}");
                }

                if (room.Version.CreatorsHaveInfinitePower && room.Creators.Contains(user))
                {
                    throw MatrixErrorException.Unknown(400, $"Creator user {user} must not appear in content.users");
                }
            }
        }
    }

    private static bool IsInteger(JsonNode node) =>
        Json.TryGetNumber(node, out var d) && d == Math.Floor(d)
        && Math.Abs(d) <= 9007199254740991; // canonical JSON integers: -(2^53)+1 .. (2^53)-1

    private static IEnumerable<string> Keys(JsonObject? map) => map?.Select(kv => kv.Key) ?? [];
}
