using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Messaging;

/// <summary>
/// The core's <see cref="IOwnerAlerts"/>: incidents are rows in <c>alerts</c> (one open per room and kind), so each is
/// told once, however often the failure repeats, and <c>show</c> lists the open ones.
/// </summary>
public sealed class OwnerAlerts(AlertStore alerts, ReportStore reports, GateStore gates, MessageOutbox outbox, IOptions<OperatorOptions> operators)
    : IOwnerAlerts
{
    public async Task<bool> RaiseAsync(ITx tx, string? roomId, AlertKind kind, string detail, DateTimeOffset now)
    {
        if (!await alerts.OpenAsync(tx, roomId ?? AlertStore.Everywhere, DbKind(kind), detail, now))
            return false;
        var room = roomId is null ? null : (await gates.GetAsync(tx, roomId))?.RoomName ?? roomId;
        foreach (var person in await AudienceAsync(tx, roomId))
            await outbox.ToUserAsync(tx, person, AlertTexts.Raised(room, detail), now);
        return true;
    }

    public async Task<bool> ClearAsync(ITx tx, string? roomId, AlertKind kind, DateTimeOffset now)
    {
        if (!await alerts.ResolveAsync(tx, roomId ?? AlertStore.Everywhere, DbKind(kind), now))
            return false;
        var room = roomId is null ? null : (await gates.GetAsync(tx, roomId))?.RoomName ?? roomId;
        foreach (var person in await AudienceAsync(tx, roomId))
            await outbox.ToUserAsync(tx, person, AlertTexts.Cleared(room, kind), now);
        return true;
    }

    /// <summary>The room's owners who gave commands there (every owner, for the whole bot), and the operators.</summary>
    private async Task<IReadOnlyList<string>> AudienceAsync(ITx tx, string? roomId)
    {
        var owners = roomId is null ? await reports.AllOwnersWhoActedAsync(tx) : await reports.OwnersWhoActedAsync(tx, roomId);
        return [.. owners.Concat(operators.Value.Operators).Distinct(StringComparer.Ordinal)];
    }

    private static string DbKind(AlertKind kind) => kind == AlertKind.Membership ? "membership" : "payments";
}

/// <summary>What owners are told about incidents.</summary>
public static class AlertTexts
{
    public static Notice Raised(string? room, string detail) =>
        new Notice().Text("⚠ ").Text(room is null ? "Something needs your attention: " : $"Something needs your attention in {room}: ").Text(detail)
            .Text(" I'll tell you once more when it is over, not every time it happens.");

    public static Notice Cleared(string? room, AlertKind kind) =>
        new Notice().Text("✓ ").Text(kind == AlertKind.Payments ? "The payment node answers again" : $"Invites and removals work again in {room}")
            .Text(": the problem I told you about is over.");
}
