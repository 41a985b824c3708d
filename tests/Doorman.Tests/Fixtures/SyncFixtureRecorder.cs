using System.Globalization;
using System.Text.Json.Nodes;
using Doorman.Matrix.Sync;
using Doorman.Tests.Peers;
using Doorman.Tests.Sandbox.Homeserver;
using Xunit.Abstractions;

namespace Doorman.Tests.Fixtures;

/// <summary>
/// Re-records <c>Fixtures/sync/*.json</c> from the real Synapse:
/// <code>DOORMAN_RECORD_FIXTURES=1 DOORMAN_SYNAPSE_URL=http://127.0.0.1:18008 dotnet test tests/Doorman.Tests --filter FullyQualifiedName~SyncFixtureRecorder</code>
/// Each fixture is one raw <c>/sync</c> response (never reserialized through our model), taken with the bot's own
/// filter from a token fetched just before the action it shows, so it holds that action and little else. Access
/// tokens never appear in /sync, and any that did would be replaced before saving. It also rebuilds the synthetic
/// benchmark batch (<see cref="SyntheticSync"/>), whose shapes come from these recordings.
/// </summary>
public sealed class SyncFixtureRecorder(ITestOutputHelper output)
{
    private const string V3 = "/_matrix/client/v3";
    private readonly JsonObject _manifest = [];
    private readonly List<TestUser> _users = [];

    // Synapse answers a /sync identical to one it answered in the last couple of minutes from its response cache
    // (keyed on user, since, filter, timeout…), even with timeout=0: a poll with the same token sees nothing new.
    // Each request here gets its own timeout (a few ms) so each one is really computed.
    private int _syncs;

    [RecordFixturesFact]
    public async Task Record_sync_fixtures_from_Synapse()
    {
        var url = SynapseEnvironment.Url ?? throw new InvalidOperationException(SynapseEnvironment.NotConfigured);
        using var hs = new MatrixTestClient(url, SynapseEnvironment.Secret);
        var server = (await hs.GetAsync("/_matrix/federation/v1/version")).Body?["server"];
        var bot = await Register(hs, "bot");
        var member = await Register(hs, "member");
        var chatter = await Register(hs, "chatter");

        // The bot syncs with its production filter (SyncLoopOptions), uploaded as the sync loop does.
        var filterJson = new SyncLoopOptions().FilterJson;
        var botFilter = await UploadFilterAsync(hs, bot, filterJson);
        var limitedFilterJson = JsonNode.Parse(filterJson)!;
        limitedFilterJson["room"]!["timeline"]!["limit"] = 3;
        var limitedFilter = await UploadFilterAsync(hs, bot, limitedFilterJson.ToJsonString());

        // invite-direct: a member opens a DM with the bot, as Element does.
        var since = await NowAsync(hs, bot, botFilter);
        var dm = await hs.CreateRoomAsync(member, new JsonObject
        {
            ["preset"] = "trusted_private_chat", ["is_direct"] = true, ["invite"] = new JsonArray(bot.UserId),
        });
        var invite = await SyncUntilAsync(hs, bot, since, botFilter, b => b["rooms"]?["invite"]?[dm] is not null);
        Save("invite-direct", invite, "The bot's sync after a member opened a DM with it: rooms.invite with stripped state and an is_direct invite.",
            bot, "bot", new() { ["room"] = dm, ["sender"] = member.UserId });

        // join: the bot accepts it.
        since = invite["next_batch"]!.GetValue<string>();
        (await hs.JoinAsync(bot, dm)).Ok();
        var join = await SyncUntilAsync(hs, bot, since, botFilter, b => b["rooms"]?["join"]?[dm] is not null);
        Save("join", join, "The bot's sync after it joined the DM: the room moves to rooms.join, its whole history in a limited timeline ending in the join, state empty.",
            bot, "bot", new() { ["room"] = dm, ["inviter"] = member.UserId });

        // account-data: the bot records the DM in m.direct.
        since = join["next_batch"]!.GetValue<string>();
        (await hs.PutAsync($"{V3}/user/{Esc(bot.UserId)}/account_data/m.direct", new JsonObject { [member.UserId] = new JsonArray(dm) }, bot)).Ok();
        var accountData = await SyncUntilAsync(hs, bot, since, botFilter, b => b["account_data"]?["events"] is JsonArray { Count: > 0 });
        Save("account-data", accountData, "The bot's sync after it wrote m.direct: account_data.events.",
            bot, "bot", new() { ["room"] = dm, ["direct_user"] = member.UserId });

        // knock-seen-by-member and knock-seen-by-knocker: a gated v12 room with join rule knock.
        var gated = await hs.CreateRoomAsync(bot, new JsonObject
        {
            ["preset"] = "private_chat", ["room_version"] = "12", ["name"] = "Gated",
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["state_key"] = "", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
        });
        since = await NowAsync(hs, bot, botFilter);
        var memberSince = await NowAsync(hs, member, null);
        (await hs.KnockAsync(member, gated, "I would like to subscribe")).Ok();
        var knockSeen = await SyncUntilAsync(hs, bot, since, botFilter, b => HasMember(b, "join", gated, member.UserId, "knock"));
        Save("knock-seen-by-member", knockSeen, "The bot's sync (a joined member with invite power) after someone knocked: a member event with membership knock and the reason in rooms.join's timeline.",
            bot, "bot", new() { ["room"] = gated, ["knocker"] = member.UserId, ["reason"] = "I would like to subscribe" });
        var knocker = await SyncUntilAsync(hs, member, memberSince, null, b => b["rooms"]?["knock"]?[gated] is not null);
        Save("knock-seen-by-knocker", knocker, "The knocker's own sync (no filter): rooms.knock with knock_state.",
            member, null, new() { ["room"] = gated, ["reason"] = "I would like to subscribe" });

        // leave: the member, invited after the knock, joins and later leaves; the bot sees it in its timeline.
        (await hs.MembershipAsync(bot, gated, "invite", member.UserId)).Ok();
        (await hs.JoinAsync(member, gated)).Ok();
        since = await NowAsync(hs, bot, botFilter);
        (await hs.LeaveAsync(member, gated, "bye for now")).Ok();
        var leave = await SyncUntilAsync(hs, bot, since, botFilter, b => HasMember(b, "join", gated, member.UserId, "leave"));
        Save("leave", leave, "The bot's sync after a member left on their own: a member event with membership leave (sender = the member) in rooms.join's timeline.",
            bot, "bot", new() { ["room"] = gated, ["leaver"] = member.UserId, ["reason"] = "bye for now" });

        // kick: the bot lets them in again and removes them when the subscription ends; the member's view.
        (await hs.MembershipAsync(bot, gated, "invite", member.UserId)).Ok();
        (await hs.JoinAsync(member, gated)).Ok();
        memberSince = await NowAsync(hs, member, null);
        (await hs.MembershipAsync(bot, gated, "kick", member.UserId, "Your subscription expired")).Ok();
        var kick = await SyncUntilAsync(hs, member, memberSince, null, b => b["rooms"]?["leave"]?[gated] is not null);
        Save("kick", kick, "The kicked member's sync (no filter): rooms.leave with the timeline up to the kick (sender = the bot, reason).",
            member, null, new() { ["room"] = gated, ["kicker"] = bot.UserId, ["reason"] = "Your subscription expired" });

        // timeline: ordinary traffic in a room with the bot, a command among it, and the bot's own notice.
        var lobby = await hs.CreateRoomAsync(chatter, new JsonObject { ["preset"] = "public_chat", ["name"] = "Lobby" });
        (await hs.JoinAsync(bot, lobby)).Ok();
        since = await NowAsync(hs, bot, botFilter);
        await hs.SendTextAsync(chatter, lobby, "hello everyone");
        var command = await hs.SendTextAsync(chatter, lobby, "!gate status");
        var notice = (await hs.SendMessageAsync(bot, lobby, new JsonObject
        {
            ["msgtype"] = "m.notice", ["body"] = "Lobby is not gated.", ["format"] = "org.matrix.custom.html",
            ["formatted_body"] = "<b>Lobby</b> is not gated.", ["m.mentions"] = new JsonObject(),
        }, txnId: "fixture-notice-1")).Ok()["event_id"]!.GetValue<string>();
        var timeline = await SyncUntilAsync(hs, bot, since, botFilter, b => TimelineIds(b, lobby).Contains(notice));
        Save("timeline", timeline, "The bot's sync with ordinary traffic: two m.text messages from a member (the second a !gate command) and the bot's own m.notice (with unsigned.transaction_id).",
            bot, "bot", new() { ["room"] = lobby, ["sender"] = chatter.UserId, ["command_event"] = command, ["notice_event"] = notice, ["transaction_id"] = "fixture-notice-1" });

        // limited: more messages between two syncs than the filter's timeline limit (3).
        since = await NowAsync(hs, bot, limitedFilter);
        for (var i = 1; i <= 6; i++)
        {
            await hs.SendTextAsync(chatter, lobby, $"burst message {i.ToString(CultureInfo.InvariantCulture)} of 6");
        }

        var limited = await SyncUntilAsync(hs, bot, since, limitedFilter, b => TimelineBodies(b, lobby).Contains("burst message 6 of 6"));
        Save("limited", limited, "The bot's sync (its filter with timeline limit 3) after 6 messages: limited true, prev_batch, the last 3 messages.",
            bot, "bot-timeline-limit-3", new() { ["room"] = lobby, ["sender"] = chatter.UserId, ["timeline_limit"] = 3, ["sent"] = 6 });

        _manifest["_filters"] = new JsonObject { ["bot"] = JsonNode.Parse(filterJson), ["bot-timeline-limit-3"] = limitedFilterJson };
        _manifest["_recorded_with"] = new JsonObject
        {
            ["server"] = server?.DeepClone(),
            ["by"] = "tests/Doorman.Tests/Fixtures/SyncFixtureRecorder.cs",
        };
        Directory.CreateDirectory(SyncFixtures.SourceDirectory);
        await File.WriteAllTextAsync(Path.Combine(SyncFixtures.SourceDirectory, "manifest.json"), _manifest.ToJsonString(SyncFixtures.WriteOptions) + "\n");

        // The synthetic benchmark batch is built from these shapes: keep it in step.
        SyntheticSync.RegenerateCommitted();
    }

    private async Task<TestUser> Register(MatrixTestClient hs, string prefix)
    {
        var user = await hs.RegisterAsync(prefix);
        _users.Add(user);
        return user;
    }

    private void Save(string name, JsonNode body, string description, TestUser user, string? filter, JsonObject ids)
    {
        var text = body.ToJsonString(SyncFixtures.WriteOptions);
        foreach (var u in _users)
        {
            text = text.Replace(u.AccessToken, "<access token removed>", StringComparison.Ordinal);
        }

        File.WriteAllText(Path.Combine(SyncFixtures.SourceDirectory, name + ".json"), text + "\n");
        var entry = new JsonObject { ["description"] = description, ["user"] = user.UserId };
        foreach (var (key, value) in ids)
        {
            entry[key] = value?.DeepClone();
        }

        entry["filter"] = filter; // a name in _filters; null: the request had none
        _manifest[name] = entry;
        output.WriteLine($"{name}: {text.Length} chars");
    }

    private static async Task<string> UploadFilterAsync(MatrixTestClient hs, TestUser user, string filterJson) =>
        (await hs.PostAsync($"{V3}/user/{Esc(user.UserId)}/filter", JsonNode.Parse(filterJson), user)).Ok()["filter_id"]!.GetValue<string>();

    /// <summary>A token for "now": everything before it is left out of the next recording.</summary>
    private async Task<string> NowAsync(MatrixTestClient hs, TestUser user, string? filter)
    {
        await Task.Delay(300); // let Synapse finish persisting what came before
        return (await hs.SyncAsync(user, null, ++_syncs, filter)).Ok()["next_batch"]!.GetValue<string>();
    }

    /// <summary>Syncs from the same token until the response shows what the fixture is for, so it holds the whole action.</summary>
    private async Task<JsonNode> SyncUntilAsync(MatrixTestClient hs, TestUser user, string since, string? filter, Func<JsonNode, bool> shows)
    {
        await Task.Delay(300);
        JsonNode? body = null;
        for (var attempt = 0; attempt < 40; attempt++)
        {
            body = (await hs.SyncAsync(user, since, ++_syncs, filter)).Ok();
            if (shows(body))
            {
                return body;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{user.UserId}'s sync since {since} never showed what was expected; the last one: {body?.ToJsonString()}");
    }

    private static bool HasMember(JsonNode body, string section, string room, string userId, string membership) =>
        body["rooms"]?[section]?[room]?["timeline"]?["events"]?.AsArray()
            .Any(e => e?["type"]?.GetValue<string>() == "m.room.member" && e["state_key"]?.GetValue<string>() == userId
                && e["content"]?["membership"]?.GetValue<string>() == membership) == true;

    private static List<string> TimelineIds(JsonNode body, string room) =>
        [.. body["rooms"]?["join"]?[room]?["timeline"]?["events"]?.AsArray().Select(e => e?["event_id"]?.GetValue<string>() ?? "") ?? []];

    private static List<string> TimelineBodies(JsonNode body, string room) =>
        [.. body["rooms"]?["join"]?[room]?["timeline"]?["events"]?.AsArray().Select(e => e?["content"]?["body"]?.GetValue<string>() ?? "") ?? []];

    private static string Esc(string segment) => Uri.EscapeDataString(segment);
}
