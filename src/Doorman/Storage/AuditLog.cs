using Doorman.Access;

namespace Doorman.Storage;

/// <summary>Who did what, when: owner commands, grants, kicks.</summary>
public sealed class AuditLog
{
    public Task WriteAsync(ITx tx, DateTimeOffset now, string actor, string? roomId, string action, string? detail) =>
        tx.ExecuteAsync("INSERT INTO audit (at, actor, room_id, action, detail) VALUES (@at, @actor, @roomId, @action, @detail)",
            new { at = UnixMs.From(now), actor, roomId, action, detail });
}
