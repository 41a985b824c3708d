namespace Doorman.Access;

/// <summary>Who may bring the bot into a room (DESIGN §3 "Who may bring the bot in").</summary>
public static class InvitePolicy
{
    /// <summary>
    /// DM invites (<c>is_direct</c>) are accepted from anyone. Other invites only from operators and from
    /// <paramref name="allowedInviters"/>: exact user ids or <c>*:server</c>; when that list is empty, from users
    /// of the bot's own server.
    /// </summary>
    public static bool MayInvite(string inviter, bool isDirect, IReadOnlyCollection<string> allowedInviters,
        IReadOnlyCollection<string> operators, string botServerName)
    {
        if (isDirect || operators.Contains(inviter, StringComparer.Ordinal))
            return true;
        var server = ServerOf(inviter);
        if (allowedInviters.Count == 0)
            return server == botServerName;
        return allowedInviters.Any(pattern =>
            pattern == inviter || (pattern.StartsWith("*:", StringComparison.Ordinal) && server == pattern[2..]));
    }

    /// <summary>The server name of a user id (<c>@local:server</c>); empty when malformed.</summary>
    public static string ServerOf(string userId) =>
        userId.StartsWith('@') && userId.IndexOf(':', StringComparison.Ordinal) is var i and > 1 ? userId[(i + 1)..] : "";
}
