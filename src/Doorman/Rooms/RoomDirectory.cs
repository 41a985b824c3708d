using System.Collections.Concurrent;
using System.Net;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;

namespace Doorman.Rooms;

/// <summary>
/// Facts about rooms, read from the homeserver. The create event is cached (it never changes); power levels
/// are always read live, because owner commands and kicks are authorized against current state (rule 6).
/// </summary>
public sealed class RoomDirectory(MatrixClient matrix)
{
    private readonly ConcurrentDictionary<string, RoomCreation> _creations = new(StringComparer.Ordinal);

    public async Task<RoomPower> GetPowerAsync(string roomId, CancellationToken cancellationToken)
    {
        _creations.TryGetValue(roomId, out var known);
        var power = await matrix.GetRoomPowerAsync(roomId, known, cancellationToken);
        _creations.TryAdd(roomId, power.Creation);
        return power;
    }

    /// <summary>A room id for <c>#alias:server</c> or <c>!id</c>; null when the alias is unknown.</summary>
    public async Task<string?> ResolveAsync(string roomReference, CancellationToken cancellationToken)
    {
        if (!roomReference.StartsWith('#'))
            return roomReference;
        try
        {
            return (await matrix.ResolveAliasAsync(roomReference, cancellationToken)).RoomId;
        }
        catch (MatrixException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>How to name the room to members: its canonical alias, else its id.</summary>
    public async Task<string> DisplayNameAsync(string roomId, CancellationToken cancellationToken)
    {
        try
        {
            var alias = await matrix.TryGetStateAsync(roomId, EventTypes.CanonicalAlias, "", cancellationToken);
            if (alias is { } a && a.TryGetProperty("alias", out var value) && value.GetString() is { Length: > 0 } text)
                return text;
        }
        catch (MatrixException e) when (e.IsForbidden)
        {
            // Not in the room (yet): its id will do.
        }
        return roomId;
    }

    /// <summary>Who is joined to the room now (<c>GET /rooms/{roomId}/members?membership=join</c>).</summary>
    public async Task<IReadOnlyList<string>> JoinedAsync(string roomId, CancellationToken cancellationToken) =>
        [.. (await matrix.GetMembersAsync(roomId, Membership.Join, cancellationToken)).Select(e => e.StateKey).OfType<string>()];

    /// <summary>
    /// The room's join rule (<c>m.room.join_rules</c>; CS API §"m.room.join_rules": none set means <c>invite</c>) and
    /// whether it is encrypted (an <c>m.room.encryption</c> state event exists).
    /// </summary>
    public async Task<RoomSettings> SettingsAsync(string roomId, CancellationToken cancellationToken)
    {
        var rules = await matrix.TryGetStateAsync(roomId, EventTypes.JoinRules, "", cancellationToken);
        var rule = rules is { } r && r.ValueKind == System.Text.Json.JsonValueKind.Object && r.TryGetProperty("join_rule", out var value)
            && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString()! : "invite";
        var encrypted = await matrix.TryGetStateAsync(roomId, EventTypes.Encryption, "", cancellationToken) is not null;
        return new RoomSettings(rule, encrypted);
    }
}

/// <param name="JoinRule"><c>public</c>, <c>knock</c>, <c>invite</c>, <c>restricted</c>…</param>
public sealed record RoomSettings(string JoinRule, bool Encrypted);
