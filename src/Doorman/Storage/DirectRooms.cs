using Doorman.Access;

namespace Doorman.Storage;

/// <summary>The DM room the bot uses with each user: our own table is the truth; <c>m.direct</c> mirrors it.</summary>
public sealed class DirectRooms
{
    public Task<string?> GetRoomAsync(ITx tx, string userId) =>
        tx.QuerySingleOrDefaultAsync<string?>("SELECT room_id FROM direct_rooms WHERE user_id = @userId", new { userId });

    public async Task<bool> IsDirectRoomAsync(ITx tx, string roomId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM direct_rooms WHERE room_id = @roomId", new { roomId }) > 0;

    public Task SetAsync(ITx tx, string userId, string roomId, DateTimeOffset now) =>
        tx.ExecuteAsync(
            "INSERT INTO direct_rooms (user_id, room_id, created_at) VALUES (@userId, @roomId, @at) ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id, created_at = excluded.created_at",
            new { userId, roomId, at = UnixMs.From(now) });

    public Task ForgetAsync(ITx tx, string userId, string roomId) =>
        tx.ExecuteAsync("DELETE FROM direct_rooms WHERE user_id = @userId AND room_id = @roomId", new { userId, roomId });
}
