using Doorman.Access;

namespace Doorman.Storage;

/// <summary>Gates and their plans. <c>set</c> writes the default plan (named "default" when the room is first gated).</summary>
public sealed class GateStore : IGateStore
{
    /// <summary>The most plans one room may have.</summary>
    public const int MaxPlans = 10;

    public async Task<Gate?> GetAsync(ITx tx, string roomId)
    {
        var row = await tx.QuerySingleOrDefaultAsync<GateRow>(
            """
            SELECT g.room_id AS RoomId, g.room_name AS RoomName, g.enabled AS Enabled, g.grace_seconds AS GraceSeconds,
                   p.price_msat AS PriceMsat, p.period_seconds AS PeriodSeconds, g.trial_seconds AS TrialSeconds,
                   g.remind_seconds AS RemindSeconds, p.name AS DefaultPlan
            FROM gates g JOIN plans p ON p.room_id = g.room_id AND p.is_default = 1
            WHERE g.room_id = @roomId
            """, new { roomId });
        return row?.ToGate();
    }

    public async Task<IReadOnlyList<Plan>> GetPlansAsync(ITx tx, string roomId) =>
        (await tx.QueryAsync<PlanRow>(
            """
            SELECT name AS Name, price_msat AS PriceMsat, period_seconds AS PeriodSeconds, is_default AS IsDefault
            FROM plans WHERE room_id = @roomId ORDER BY is_default DESC, name
            """, new { roomId })).Select(r => r.ToPlan()).ToList();

    public Task<IReadOnlyList<string>> EnabledRoomIdsAsync(ITx tx) =>
        tx.QueryAsync<string>("SELECT room_id FROM gates WHERE enabled = 1 ORDER BY room_id");

    /// <summary>
    /// Gates the room at this price, creating the gate or replacing its default plan's price and period. True when the
    /// room was gated for the first time.
    /// </summary>
    public async Task<bool> SetPriceAsync(ITx tx, string roomId, string roomName, long priceMsat, TimeSpan? period, string actor, DateTimeOffset now)
    {
        var at = UnixMs.From(now);
        var existing = await GetAsync(tx, roomId);
        await tx.ExecuteAsync(
            """
            INSERT INTO gates (room_id, room_name, enabled, grace_seconds, created_by, created_at, updated_by, updated_at)
            VALUES (@roomId, @roomName, 1, 0, @actor, @at, @actor, @at)
            ON CONFLICT (room_id) DO UPDATE SET room_name = excluded.room_name, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """, new { roomId, roomName, actor, at });
        await tx.ExecuteAsync(
            """
            INSERT INTO plans (room_id, name, price_msat, period_seconds, is_default, created_at)
            VALUES (@roomId, @name, @priceMsat, @periodSeconds, 1, @at)
            ON CONFLICT (room_id, name) DO UPDATE SET price_msat = excluded.price_msat, period_seconds = excluded.period_seconds, is_default = 1
            """, new { roomId, name = existing?.DefaultPlan ?? Plans.Default, priceMsat, periodSeconds = (long?)period?.TotalSeconds, at });
        return existing is null;
    }

    /// <summary>Adds a named plan; false when the room has one by that name already.</summary>
    public async Task<bool> AddPlanAsync(ITx tx, string roomId, string name, long priceMsat, TimeSpan? period, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            INSERT INTO plans (room_id, name, price_msat, period_seconds, is_default, created_at)
            VALUES (@roomId, @name, @priceMsat, @periodSeconds, 0, @at) ON CONFLICT (room_id, name) DO NOTHING
            """, new { roomId, name, priceMsat, periodSeconds = (long?)period?.TotalSeconds, at = UnixMs.From(now) }) == 1;

    /// <summary>Removes a plan that is not the default; false when there is no such plan (or it is the default).</summary>
    public async Task<bool> RemovePlanAsync(ITx tx, string roomId, string name) =>
        await tx.ExecuteAsync("DELETE FROM plans WHERE room_id = @roomId AND name = @name AND is_default = 0", new { roomId, name }) == 1;

    /// <summary>Makes the plan the default; false when there is no such plan.</summary>
    public async Task<bool> SetDefaultPlanAsync(ITx tx, string roomId, string name)
    {
        if (await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM plans WHERE room_id = @roomId AND name = @name", new { roomId, name }) == 0)
            return false;
        await tx.ExecuteAsync("UPDATE plans SET is_default = CASE WHEN name = @name THEN 1 ELSE 0 END WHERE room_id = @roomId", new { roomId, name });
        return true;
    }

    public Task<int> SetTrialAsync(ITx tx, string roomId, TimeSpan? trial, string actor, DateTimeOffset now) =>
        Update(tx, "trial_seconds", roomId, (long?)trial?.TotalSeconds, actor, now);

    public Task<int> SetGraceAsync(ITx tx, string roomId, TimeSpan grace, string actor, DateTimeOffset now) =>
        Update(tx, "grace_seconds", roomId, (long)grace.TotalSeconds, actor, now);

    /// <param name="lead">Null: the default rule; zero: off.</param>
    public Task<int> SetRemindAsync(ITx tx, string roomId, TimeSpan? lead, string actor, DateTimeOffset now) =>
        Update(tx, "remind_seconds", roomId, (long?)lead?.TotalSeconds, actor, now);

    public Task<int> SetEnabledAsync(ITx tx, string roomId, bool enabled, string actor, DateTimeOffset now) =>
        Update(tx, "enabled", roomId, enabled ? 1L : 0L, actor, now);

    /// <param name="column">One of this class's own column names, never user input.</param>
    private static Task<int> Update(ITx tx, string column, string roomId, long? value, string actor, DateTimeOffset now) =>
        tx.ExecuteAsync($"UPDATE gates SET {column} = @value, updated_by = @actor, updated_at = @at WHERE room_id = @roomId",
            new { roomId, value, actor, at = UnixMs.From(now) });

    private sealed record GateRow(string RoomId, string RoomName, long Enabled, long GraceSeconds, long PriceMsat, long? PeriodSeconds,
        long? TrialSeconds, long? RemindSeconds, string DefaultPlan)
    {
        public Gate ToGate() => new(RoomId, RoomName, Enabled != 0, TimeSpan.FromSeconds(GraceSeconds), PriceMsat, Seconds(PeriodSeconds),
            Seconds(TrialSeconds), Seconds(RemindSeconds), DefaultPlan);
    }

    private sealed record PlanRow(string Name, long PriceMsat, long? PeriodSeconds, long IsDefault)
    {
        public Plan ToPlan() => new(Name, PriceMsat, Seconds(PeriodSeconds), IsDefault != 0);
    }

    private static TimeSpan? Seconds(long? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;
}
