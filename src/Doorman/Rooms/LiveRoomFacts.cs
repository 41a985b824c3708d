using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Microsoft.Extensions.Options;

namespace Doorman.Rooms;

/// <summary>
/// The core's <see cref="IRoomFacts"/>, read from the homeserver at the moment a member asks: the member's
/// membership (<c>GET /rooms/{roomId}/state/m.room.member/{userId}</c>) and the room's power levels.
/// </summary>
public sealed class LiveRoomFacts(MatrixClient matrix, RoomDirectory rooms, IOptions<MatrixOptions> options) : IRoomFacts
{
    public async Task<RoomFacts?> ForOrderAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        try
        {
            var membership = await matrix.GetMembershipAsync(roomId, userId, cancellationToken);
            var power = await rooms.GetPowerAsync(roomId, cancellationToken);
            var bot = options.Value.UserId;
            return new RoomFacts(membership == Membership.Ban, power.CanInvite(bot), power.LevelOf(bot), power.InviteLevel);
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == System.Net.HttpStatusCode.NotFound)
        {
            // CS API §"GET /rooms/{roomId}/state": 403 when we are not (or no longer) in the room.
            return null;
        }
    }
}
