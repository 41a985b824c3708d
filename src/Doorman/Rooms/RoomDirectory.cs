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
}
