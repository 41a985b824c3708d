using Doorman.Access;

namespace Doorman.Storage;

/// <summary>Gates and plans. Rooms have one plan, named "default".</summary>
public sealed class GateStore : IGateStore
{
    public async Task<Gate?> GetAsync(ITx tx, string roomId)
    {
        var row = await tx.QuerySingleOrDefaultAsync<GateRow>(
            """
            SELECT g.room_id AS RoomId, g.room_name AS RoomName, g.enabled AS Enabled, g.grace_seconds AS GraceSeconds,
                   p.price_msat AS PriceMsat, p.period_seconds AS PeriodSeconds
            FROM gates g JOIN plans p ON p.room_id = g.room_id AND p.is_default = 1
            WHERE g.room_id = @roomId
            """, new { roomId });
        return row?.ToGate();
    }

    public Task<IReadOnlyList<string>> EnabledRoomIdsAsync(ITx tx) =>
        tx.QueryAsync<string>("SELECT room_id FROM gates WHERE enabled = 1 ORDER BY room_id");

    /// <summary>Gates the room at this price, creating the gate or replacing its default plan.</summary>
    public async Task SetPriceAsync(ITx tx, string roomId, string roomName, long priceMsat, TimeSpan? period, string actor, DateTimeOffset now)
    {
        var at = UnixMs.From(now);
        await tx.ExecuteAsync(
            """
            INSERT INTO gates (room_id, room_name, enabled, grace_seconds, remind_seconds, created_by, created_at, updated_by, updated_at)
            VALUES (@roomId, @roomName, 1, 0, @remindSeconds, @actor, @at, @actor, @at)
            ON CONFLICT (room_id) DO UPDATE SET room_name = excluded.room_name, remind_seconds = excluded.remind_seconds,
                updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """, new { roomId, roomName, actor, at, remindSeconds = (long?)AccessRules.ReminderLead(period)?.TotalSeconds });
        await tx.ExecuteAsync(
            """
            INSERT INTO plans (room_id, name, price_msat, period_seconds, is_default, created_at)
            VALUES (@roomId, @name, @priceMsat, @periodSeconds, 1, @at)
            ON CONFLICT (room_id, name) DO UPDATE SET price_msat = excluded.price_msat, period_seconds = excluded.period_seconds, is_default = 1
            """, new { roomId, name = Plans.Default, priceMsat, periodSeconds = (long?)period?.TotalSeconds, at });
    }

    private sealed record GateRow(string RoomId, string RoomName, long Enabled, long GraceSeconds, long PriceMsat, long? PeriodSeconds)
    {
        public Gate ToGate() => new(RoomId, RoomName, Enabled != 0, TimeSpan.FromSeconds(GraceSeconds), PriceMsat,
            PeriodSeconds is { } s ? TimeSpan.FromSeconds(s) : null);
    }
}
