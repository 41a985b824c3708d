using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>Filter upload and lookup (CS API §"Filtering"): a user may only touch their own filters.</summary>
internal sealed partial class HomeserverEngine
{
    public string CreateFilter(Session session, string userId, JsonObject filter)
    {
        if (userId != session.UserId)
        {
            throw MatrixErrorException.Forbidden("Cannot create filters for other users");
        }

        _ = SyncFilter.Parse(filter);
        lock (_gate)
        {
            var filters = AccountOf(userId).Filters;
            filters.Add((JsonObject)filter.DeepClone());
            return (filters.Count - 1).ToString(CultureInfo.InvariantCulture);
        }
    }

    public JsonObject GetFilter(Session session, string userId, string filterId)
    {
        if (userId != session.UserId)
        {
            throw MatrixErrorException.Forbidden("Cannot get filters for other users");
        }

        lock (_gate)
        {
            return (JsonObject)FindFilter(userId, filterId, invalid: MatrixErrorException.Unknown(400, "Invalid filter_id"),
                missing: MatrixErrorException.NotFound("No such filter")).DeepClone();
        }
    }

    /// <summary>The <c>filter</c> parameter of <c>/sync</c>: a filter id, or a filter inline as JSON.</summary>
    public SyncFilter ResolveSyncFilter(Session session, string? filter)
    {
        if (string.IsNullOrEmpty(filter))
        {
            return SyncFilter.Default;
        }

        if (filter.StartsWith('{'))
        {
            JsonObject inline;
            try
            {
                inline = JsonNode.Parse(filter) as JsonObject ?? throw MatrixErrorException.NotJson();
            }
            catch (JsonException)
            {
                throw new MatrixErrorException(400, "M_NOT_JSON", "Invalid filter JSON");
            }

            return SyncFilter.Parse(inline);
        }

        lock (_gate)
        {
            var noSuchFilter = MatrixErrorException.InvalidParam("No such filter");
            return SyncFilter.Parse(FindFilter(session.UserId, filter, invalid: noSuchFilter, missing: noSuchFilter));
        }
    }

    private JsonObject FindFilter(string userId, string filterId, MatrixErrorException invalid, MatrixErrorException missing)
    {
        if (!int.TryParse(filterId, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            throw invalid;
        }

        var filters = AccountOf(userId).Filters;
        return index < filters.Count ? filters[index] : throw missing;
    }
}

/// <summary>
/// The parts of a filter (CS API §"Filtering") the sandbox honours: <c>account_data</c>, <c>presence</c> and,
/// under <c>room</c>, <c>rooms</c>/<c>not_rooms</c>, <c>include_leave</c>, and <c>timeline</c> (with
/// <c>limit</c>), <c>state</c>, <c>account_data</c>, <c>ephemeral</c> event filters.
/// </summary>
internal sealed record SyncFilter(EventFilter AccountData, EventFilter Presence, RoomFilter Room)
{
    /// <summary>Synapse's default timeline limit is 10.</summary>
    public const int DefaultTimelineLimit = 10;

    public static readonly SyncFilter Default = Parse([]);

    public static SyncFilter Parse(JsonObject filter)
    {
        var room = filter["room"] as JsonObject ?? [];
        return new SyncFilter(
            EventFilter.Parse(filter["account_data"] as JsonObject),
            EventFilter.Parse(filter["presence"] as JsonObject),
            new RoomFilter(
                Strings(room, "rooms"),
                Strings(room, "not_rooms") ?? [],
                room["include_leave"] is JsonValue v && v.TryGetValue<bool>(out var includeLeave) && includeLeave,
                EventFilter.Parse(room["timeline"] as JsonObject),
                EventFilter.Parse(room["state"] as JsonObject),
                EventFilter.Parse(room["account_data"] as JsonObject),
                EventFilter.Parse(room["ephemeral"] as JsonObject)));
    }

    internal static IReadOnlyList<string>? Strings(JsonObject obj, string key) => obj[key] switch
    {
        null => null,
        JsonArray array when array.All(n => n?.GetValueKind() == JsonValueKind.String) => [.. array.Select(n => n!.GetValue<string>())],
        _ => throw MatrixErrorException.BadJson($"'{key}' must be a list of strings"),
    };
}

internal sealed record RoomFilter(
    IReadOnlyList<string>? Rooms, IReadOnlyList<string> NotRooms, bool IncludeLeave,
    EventFilter Timeline, EventFilter State, EventFilter AccountData, EventFilter Ephemeral)
{
    public bool Includes(string roomId) => !NotRooms.Contains(roomId) && (Rooms is null || Rooms.Contains(roomId));
}

/// <summary>An event filter: <c>types</c>/<c>not_types</c> (with <c>*</c> wildcards), <c>senders</c>/<c>not_senders</c>, <c>limit</c>.</summary>
internal sealed record EventFilter(int? Limit, IReadOnlyList<string>? Types, IReadOnlyList<string> NotTypes, IReadOnlyList<string>? Senders, IReadOnlyList<string> NotSenders)
{
    public static EventFilter Parse(JsonObject? filter)
    {
        if (filter is null)
        {
            return new EventFilter(null, null, [], null, []);
        }

        int? limit = null;
        if (filter["limit"] is { } limitNode)
        {
            limit = Json.TryGetNumber(limitNode, out var l) && l >= 0 && l == Math.Floor(l)
                ? (int)Math.Min(l, int.MaxValue)
                : throw MatrixErrorException.BadJson("'limit' must be a non-negative integer");
        }

        return new EventFilter(limit, SyncFilter.Strings(filter, "types"), SyncFilter.Strings(filter, "not_types") ?? [],
            SyncFilter.Strings(filter, "senders"), SyncFilter.Strings(filter, "not_senders") ?? []);
    }

    public bool Matches(string type, string? sender)
    {
        if (NotTypes.Any(p => Glob(p, type)) || (Types is not null && !Types.Any(p => Glob(p, type))))
        {
            return false;
        }

        return sender is null || (!NotSenders.Contains(sender) && (Senders is null || Senders.Contains(sender)));
    }

    /// <summary>"A '*' can be used as a wildcard to match any sequence of characters."</summary>
    private static bool Glob(string pattern, string value)
    {
        var star = pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return pattern == value;
        }

        var prefix = pattern[..star];
        var rest = pattern[(star + 1)..];
        if (!value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        for (var i = prefix.Length; i <= value.Length; i++)
        {
            if (Glob(rest, value[i..]))
            {
                return true;
            }
        }

        return false;
    }
}
