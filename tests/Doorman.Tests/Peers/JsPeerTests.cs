using System.Security.Cryptography;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Doorman.Tests.Sandbox.Homeserver;
using Xunit.Abstractions;

namespace Doorman.Tests.Peers;

/// <summary>The peer scenarios on the sandbox homeserver (always, when Node.js and the SDK are installed).</summary>
public sealed class JsPeerOnSandboxTests(ITestOutputHelper output)
{
    private Task Run(Func<PeerHomeserver, Task> scenario) => JsPeerScenarios.RunAsync(() => PeerHomeserver.StartSandboxAsync(output.WriteLine), scenario);

    [JsPeerFact]
    public Task A_DM_opened_in_js_sdk_reaches_our_client_as_a_direct_invite() => Run(JsPeerScenarios.DmFromPeerAsync);

    [JsPeerFact]
    public Task A_DM_opened_by_our_client_reaches_js_sdk_as_a_DM() => Run(JsPeerScenarios.DmFromUsAsync);

    [JsPeerFact]
    public Task A_knock_from_js_sdk_reaches_our_sync_loop_and_our_invite_lets_them_in() => Run(JsPeerScenarios.KnockAsync);

    [JsPeerFact]
    public Task Messages_go_both_ways() => Run(JsPeerScenarios.MessagesAsync);

    [JsPeerFact]
    public Task Media_uploaded_by_either_client_downloads_through_authenticated_media_in_the_other() => Run(JsPeerScenarios.MediaAsync);

    [JsPeerFact]
    public Task Refusals_and_timeouts_come_back_as_errors_with_the_reason() => Run(JsPeerScenarios.FailuresAsync);
}

/// <summary>The same scenarios on the real Synapse (when <c>DOORMAN_SYNAPSE_URL</c> is set).</summary>
public sealed class JsPeerOnSynapseTests(ITestOutputHelper output)
{
    private Task Run(Func<PeerHomeserver, Task> scenario) => JsPeerScenarios.RunAsync(() => Task.FromResult(PeerHomeserver.Synapse(output.WriteLine)), scenario);

    [SynapseJsPeerFact]
    public Task A_DM_opened_in_js_sdk_reaches_our_client_as_a_direct_invite() => Run(JsPeerScenarios.DmFromPeerAsync);

    [SynapseJsPeerFact]
    public Task A_DM_opened_by_our_client_reaches_js_sdk_as_a_DM() => Run(JsPeerScenarios.DmFromUsAsync);

    [SynapseJsPeerFact]
    public Task A_knock_from_js_sdk_reaches_our_sync_loop_and_our_invite_lets_them_in() => Run(JsPeerScenarios.KnockAsync);

    [SynapseJsPeerFact]
    public Task Messages_go_both_ways() => Run(JsPeerScenarios.MessagesAsync);

    [SynapseJsPeerFact]
    public Task Media_uploaded_by_either_client_downloads_through_authenticated_media_in_the_other() => Run(JsPeerScenarios.MediaAsync);

    [SynapseJsPeerFact]
    public Task Refusals_and_timeouts_come_back_as_errors_with_the_reason() => Run(JsPeerScenarios.FailuresAsync);
}

/// <summary>
/// Each scenario once, for every homeserver: "bot" is our <see cref="MatrixClient"/> (and <see cref="SyncLoop"/>),
/// "member" is matrix-js-sdk. These are the moves the bot's end-to-end tests are built from.
/// </summary>
internal static class JsPeerScenarios
{
    public static async Task RunAsync(Func<Task<PeerHomeserver>> start, Func<PeerHomeserver, Task> scenario)
    {
        await using var hs = await start();
        await scenario(hs);
    }

    public static async Task DmFromPeerAsync(PeerHomeserver hs)
    {
        var (bot, botClient, sync, member, peer) = await CastAsync(hs);

        var dm = await peer.CreateDmAsync(bot.UserId);

        var invite = await sync.WaitForAsync(r => r.Rooms?.Invite?.GetValueOrDefault(dm), "the DM invite");
        var ours = Assert.Single(invite.InviteState!.Events!, e => e.Type == EventTypes.Member && e.StateKey == bot.UserId);
        Assert.Equal(Membership.Invite, ours.ContentString("membership"));
        Assert.True(ours.ContentBool("is_direct"), $"is_direct missing on {hs.Name}: {ours.Content}");
        Assert.Equal(member.UserId, ours.Sender);

        await botClient.JoinAsync(dm, null, null, default);
        await peer.WaitForMembershipAsync(dm, Membership.Join, bot.UserId);
        var direct = await peer.GetAccountDataAsync(EventTypes.Direct);
        Assert.Contains(dm, direct?[bot.UserId]?.AsArray().Select(r => r!.GetValue<string>()) ?? []);
    }

    public static async Task DmFromUsAsync(PeerHomeserver hs)
    {
        var (bot, botClient, sync, member, peer) = await CastAsync(hs);

        var dm = await botClient.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.TrustedPrivateChat, IsDirect = true, Invite = [member.UserId],
        }, default);

        var invite = await peer.WaitForMembershipAsync(dm, Membership.Invite);
        Assert.Equal(bot.UserId, invite.Event?["sender"]?.GetValue<string>());
        Assert.True(invite.Content?["is_direct"]?.GetValue<bool>(), $"js-sdk saw no is_direct on {hs.Name}: {invite.Event}");
        Assert.Equal(bot.UserId, invite.DmInviter); // the SDK itself takes the room for a DM from the bot

        await peer.JoinAsync(dm);
        await sync.WaitForAsync(r => MemberEvent(r, dm, member.UserId, Membership.Join), "the member joining the DM");
    }

    public static async Task KnockAsync(PeerHomeserver hs)
    {
        var (bot, botClient, sync, member, peer) = await CastAsync(hs);
        var room = await botClient.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.PrivateChat,
            RoomVersion = "12",
            InitialState = [new InitialStateEvent { Type = EventTypes.JoinRules, Content = Json("""{"join_rule":"knock"}""") }],
        }, default);
        await sync.WaitForAsync(r => r.Rooms?.Join?.GetValueOrDefault(room), "the new room");

        await peer.KnockAsync(room, "I paid");

        // CS API §Knocking: members see the knock as a member event in the joined room's timeline...
        var knock = await sync.WaitForAsync(r => MemberEvent(r, room, member.UserId, Membership.Knock), "the knock");
        Assert.Equal(member.UserId, knock.Sender);
        Assert.Equal("I paid", knock.ContentString("reason"));
        // ...and the knocker's own client has the room under rooms.knock.
        var own = await peer.WaitForMembershipAsync(room, Membership.Knock);
        Assert.Equal("I paid", own.Content?["reason"]?.GetValue<string>());

        await botClient.InviteAsync(room, member.UserId, null, default);
        await peer.WaitForMembershipAsync(room, Membership.Invite);
        await peer.JoinAsync(room);
        await sync.WaitForAsync(r => MemberEvent(r, room, member.UserId, Membership.Join), "the member joining after the invite");

        // Room v12: the creator is above every level. js-sdk says so, and so does our RoomPower.
        var (levels, seen) = await peer.GetPowerLevelsAsync(room, [bot.UserId, member.UserId]);
        Assert.False(levels["users"]?.AsObject().ContainsKey(bot.UserId), "a v12 creator must not be listed in users");
        Assert.Equal("Infinity", seen[bot.UserId]?.GetValue<string>());
        Assert.Equal(0, seen[member.UserId]?.GetValue<int>());
        var power = await botClient.GetRoomPowerAsync(room, null, default);
        Assert.Equal(RoomPower.Infinite, power.LevelOf(bot.UserId));
        Assert.Equal(0, power.LevelOf(member.UserId));
    }

    public static async Task MessagesAsync(PeerHomeserver hs)
    {
        var (bot, botClient, sync, member, peer) = await CastAsync(hs);
        var room = await SharedRoomAsync(botClient, member, peer);

        await botClient.SendMessageAsync(room, "txn-" + Guid.NewGuid().ToString("N"), new MessageContent
        {
            MsgType = MessageContent.Notice,
            Body = "Pay lnbcrt10u1peer to join",
            Format = MessageContent.HtmlFormat,
            FormattedBody = "Pay <code>lnbcrt10u1peer</code> to join",
        }, default);
        var notice = await peer.WaitForMessageAsync(room, contains: "lnbcrt10u1peer", sender: bot.UserId);
        Assert.Equal(MessageContent.Notice, notice.MsgType);
        Assert.Equal("Pay <code>lnbcrt10u1peer</code> to join", notice.Content["formatted_body"]?.GetValue<string>());
        Assert.NotNull(notice.Content["m.mentions"]); // we always send it: a bot reply never pings by accident

        var sent = await peer.SendAsync(room, "!gate status");
        var command = await sync.WaitForAsync(r => r.Rooms?.Join?.GetValueOrDefault(room)?.Timeline?.Events?
            .FirstOrDefault(e => e.Type == EventTypes.Message && e.ContentString("body") == "!gate status"), "the member's command");
        Assert.Equal(sent, command.EventId);
        Assert.Equal(member.UserId, command.Sender);
        Assert.Equal(MessageContent.Text, command.ContentString("msgtype"));

        var regex = await peer.WaitForMessageAsync(room, regex: "^Pay lnbc\\w+ to join$", sender: bot.UserId);
        Assert.Equal(notice.EventId, regex.EventId);
    }

    public static async Task MediaAsync(PeerHomeserver hs)
    {
        var (_, botClient, _, _, peer) = await CastAsync(hs, sync: false);

        var ours = RandomNumberGenerator.GetBytes(70_000);
        var ourUri = await botClient.UploadAsync(ours, "image/png", "invoice.png", default);
        var downloaded = await peer.DownloadAsync(ourUri);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(ours)), downloaded.Sha256);
        Assert.Equal(ours.Length, downloaded.Length);
        Assert.StartsWith("image/png", downloaded.ContentType, StringComparison.Ordinal);

        var theirs = RandomNumberGenerator.GetBytes(33_333);
        var theirUri = await peer.UploadAsync(theirs, "application/octet-stream", "receipt.bin");
        var (data, contentType) = await botClient.DownloadAsync(theirUri, default);
        Assert.Equal(theirs, data);
        Assert.Equal("application/octet-stream", contentType);

        var roundTrip = await peer.UploadAndDownloadAsync("hello, media"u8.ToArray(), "text/plain", "hello.txt");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("hello, media"u8)), roundTrip.Sha256);
    }

    public static async Task FailuresAsync(PeerHomeserver hs)
    {
        var (_, botClient, _, member, peer) = await CastAsync(hs, sync: false);
        var room = await botClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PrivateChat }, default);

        var refused = await Assert.ThrowsAsync<JsPeerException>(() => peer.JoinAsync(room));
        Assert.Equal(ErrorCodes.Forbidden, refused.ErrCode);
        Assert.Equal(403, refused.Status);
        Assert.Contains(member.UserId, refused.Message, StringComparison.Ordinal);

        var knock = await Assert.ThrowsAsync<JsPeerException>(() => peer.KnockAsync(room, "please"));
        Assert.Equal(ErrorCodes.Forbidden, knock.ErrCode);

        var silence = await Assert.ThrowsAsync<JsPeerException>(() => peer.WaitForMessageAsync(room, contains: "never", timeout: TimeSpan.FromSeconds(1)));
        Assert.Equal("PEER_TIMEOUT", silence.ErrCode);

        var unknown = await Assert.ThrowsAsync<JsPeerException>(() => peer.CallAsync("fly"));
        Assert.Equal("PEER_BAD_COMMAND", unknown.ErrCode);
        Assert.Contains("fly", unknown.Message, StringComparison.Ordinal);
    }

    private static async Task<(TestUser Bot, MatrixClient BotClient, SyncRecorder Sync, TestUser Member, JsPeer Peer)>
        CastAsync(PeerHomeserver hs, bool sync = true)
    {
        var bot = await hs.RegisterAsync("bot");
        var member = await hs.RegisterAsync("member");
        var botClient = hs.Client(bot);
        var recorder = sync ? hs.StartSync(botClient, bot) : null!;
        var peer = await hs.PeerAsync(member);
        return (bot, botClient, recorder, member, peer);
    }

    /// <summary>A private room of the bot's that the member has joined through js-sdk.</summary>
    private static async Task<string> SharedRoomAsync(MatrixClient botClient, TestUser member, JsPeer peer)
    {
        var room = await botClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PrivateChat, Invite = [member.UserId] }, default);
        await peer.WaitForMembershipAsync(room, Membership.Invite);
        await peer.JoinAsync(room);
        return room;
    }

    private static ClientEvent? MemberEvent(SyncResponse response, string roomId, string userId, string membership) =>
        response.Rooms?.Join?.GetValueOrDefault(roomId)?.Timeline?.Events?
            .FirstOrDefault(e => e.Type == EventTypes.Member && e.StateKey == userId && e.ContentString("membership") == membership);

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
