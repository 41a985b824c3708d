using Doorman.Access;

namespace Doorman.Storage;

/// <summary>
/// Every DM the bot has had (<c>dm_rooms</c>): our own table is the truth; <c>m.direct</c> mirrors it. A user may
/// have several; the current one is the newest the bot has not left. A room stays known as a DM after the bot left
/// it, so it can never become a gated room.
/// </summary>
public sealed class DirectRooms
{
    /// <summary>The user's DMs the bot still uses, newest first.</summary>
    public Task<IReadOnlyList<string>> CurrentRoomsAsync(ITx tx, string userId) =>
        tx.QueryAsync<string>("SELECT room_id FROM dm_rooms WHERE user_id = @userId AND left_at IS NULL ORDER BY created_at DESC, room_id",
            new { userId });

    /// <summary>The user the room is (or was) a DM with; null for a room that never was one.</summary>
    public Task<string?> PartnerAsync(ITx tx, string roomId) =>
        tx.QuerySingleOrDefaultAsync<string?>("SELECT user_id FROM dm_rooms WHERE room_id = @roomId", new { roomId });

    public Task SetAsync(ITx tx, string userId, string roomId, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO dm_rooms (room_id, user_id, created_at) VALUES (@roomId, @userId, @at)
            ON CONFLICT (room_id) DO UPDATE SET left_at = NULL, created_at = excluded.created_at
            """, new { userId, roomId, at = UnixMs.From(now) });

    /// <summary>The bot no longer uses this DM; it stays known as one.</summary>
    public Task LeaveAsync(ITx tx, string roomId, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE dm_rooms SET left_at = @at WHERE room_id = @roomId AND left_at IS NULL", new { roomId, at = UnixMs.From(now) });
}
