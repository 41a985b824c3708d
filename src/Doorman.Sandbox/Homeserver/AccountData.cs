using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>Global account data (CS API §"Client Config"): only one's own; changes reach the next sync.</summary>
internal sealed partial class HomeserverEngine
{
    public JsonObject GetAccountData(Session session, string userId, string type)
    {
        if (userId != session.UserId)
        {
            throw MatrixErrorException.Forbidden("Cannot get account data for other users.");
        }

        lock (_gate)
        {
            return AccountOf(userId).AccountData.TryGetValue(type, out var entry)
                ? (JsonObject)entry.Content.DeepClone()
                : throw MatrixErrorException.NotFound("Account data not found");
        }
    }

    public void SetAccountData(Session session, string userId, string type, JsonObject content)
    {
        if (userId != session.UserId)
        {
            throw MatrixErrorException.Forbidden("Cannot add account data for other users.");
        }

        lock (_gate)
        {
            AccountOf(userId).AccountData[type] = ((JsonObject)content.DeepClone(), ++_stream);
            _signals.Notify(userId);
        }
    }
}
