using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;

namespace Doorman.Tests.Matrix;

/// <summary>The Matrix client against the sandbox homeserver over loopback HTTP; the sandbox enforces the spec's rules.</summary>
public sealed class MatrixClientTests() : TwoUsersOnSandbox("bob")
{
    private static MessageContent Text(string body) => new() { MsgType = MessageContent.Text, Body = body };

    private int CountMessages(string roomId, string body) =>
        Hs.GetTimeline(roomId).Count(e => e.GetProperty("type").GetString() == EventTypes.Message
            && e.GetProperty("content").GetProperty("body").GetString() == body);

    [Fact]
    public async Task Whoami_names_the_tokens_owner() =>
        Assert.Equal(Alice.UserId, (await AliceClient.WhoAmIAsync(default)).UserId);

    [Fact]
    public async Task An_unknown_token_is_reported_as_such()
    {
        using var client = MatrixClient.Create(Hs.Url, "not-a-token");
        var e = await Assert.ThrowsAsync<MatrixException>(() => client.WhoAmIAsync(default));
        Assert.Equal(HttpStatusCode.Unauthorized, e.Status);
        Assert.True(e.IsUnknownToken);
    }

    [Fact]
    public async Task Invite_join_and_kick_change_membership()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PrivateChat }, default);
        await AliceClient.InviteAsync(room, Second.UserId, "welcome", default);
        Assert.Equal(Membership.Invite, await AliceClient.GetMembershipAsync(room, Second.UserId, default));
        Assert.Equal(room, await SecondClient.JoinAsync(room, null, null, default));
        Assert.Equal(Membership.Join, Hs.GetMembership(room, Second.UserId));
        await AliceClient.KickAsync(room, Second.UserId, "time is up", default);
        Assert.Equal(Membership.Leave, Hs.GetMembership(room, Second.UserId));
        Assert.Equal("time is up", Hs.GetStateEvent(room, EventTypes.Member, Second.UserId)!.Value.GetProperty("content").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_kick_below_the_required_level_is_refused_and_changes_nothing()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        var carol = Hs.RegisterUser("carol");
        using var carolClient = MatrixClient.Create(Hs.Url, carol.AccessToken);
        await SecondClient.JoinAsync(room, null, null, default);
        await carolClient.JoinAsync(room, null, null, default);

        var e = await Assert.ThrowsAsync<MatrixException>(() => SecondClient.KickAsync(room, carol.UserId, null, default));
        Assert.Equal(ErrorCodes.Forbidden, e.ErrorCode);
        Assert.Equal(Membership.Join, Hs.GetMembership(room, carol.UserId));
    }

    [Fact]
    public async Task The_same_transaction_id_sends_one_event()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        var first = await AliceClient.SendMessageAsync(room, "txn-1", Text("once"), default);
        var second = await AliceClient.SendMessageAsync(room, "txn-1", Text("once"), default);
        Assert.Equal(first, second);
        Assert.Equal(1, CountMessages(room, "once"));
    }

    [Fact]
    public async Task A_rate_limited_send_is_waited_out_and_still_goes_out_once()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        Hs.RateLimitNext(Alice.UserId, 2, TimeSpan.FromMilliseconds(700));
        var clock = Stopwatch.StartNew();
        await AliceClient.SendMessageAsync(room, "txn-429", Text("patient"), default);
        // Two 429s asking for 0.7 s each (Retry-After rounds up to 1 s; the client takes the header first).
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.4), $"waited only {clock.Elapsed}");
        Assert.Equal(1, CountMessages(room, "patient"));
    }

    [Fact]
    public async Task Server_errors_on_a_send_are_retried_and_the_message_arrives_once()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        Hs.FailNext("/send/", 502, 2);
        await AliceClient.SendMessageAsync(room, "txn-502", Text("persistent"), default);
        Assert.Equal(1, CountMessages(room, "persistent"));
    }

    [Fact]
    public async Task CreateRoom_is_not_retried_after_a_server_error_so_no_second_room_is_made()
    {
        Hs.FailNext("/createRoom", 500, 1);
        var e = await Assert.ThrowsAsync<MatrixException>(() => AliceClient.CreateRoomAsync(new CreateRoomRequest(), default));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Status);
        Assert.Empty(await AliceClient.GetJoinedRoomsAsync(default));
    }

    [Fact]
    public async Task Power_levels_and_creators_are_read_from_room_state()
    {
        var v11 = await AliceClient.CreateRoomAsync(new CreateRoomRequest { RoomVersion = "11" }, default);
        var power11 = await AliceClient.GetRoomPowerAsync(v11, null, default);
        Assert.Equal(100, power11.LevelOf(Alice.UserId));
        Assert.True(power11.CanChangePowerLevels(Alice.UserId));
        Assert.False(power11.CanChangePowerLevels(Second.UserId));

        var v12 = await AliceClient.CreateRoomAsync(new CreateRoomRequest { RoomVersion = "12" }, default);
        Assert.DoesNotContain(':', v12);
        var power12 = await AliceClient.GetRoomPowerAsync(v12, null, default);
        Assert.True(power12.Creation.CreatorsHaveInfinitePower);
        Assert.Equal(RoomPower.Infinite, power12.LevelOf(Alice.UserId));
        Assert.False(power12.PowerLevels?.Users?.ContainsKey(Alice.UserId) ?? false);
    }

    [Fact]
    public async Task Missing_state_is_null_but_other_errors_throw()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        Assert.Null(await AliceClient.TryGetStateAsync(room, EventTypes.Encryption, "", default));
        var e = await Assert.ThrowsAsync<MatrixException>(() => SecondClient.TryGetStateAsync(room, EventTypes.PowerLevels, "", default));
        Assert.Equal(ErrorCodes.Forbidden, e.ErrorCode);
    }

    [Fact]
    public async Task Aliases_resolve_and_unknown_ones_are_404()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { RoomAliasName = "lounge" }, default);
        Assert.Equal(room, (await SecondClient.ResolveAliasAsync("#lounge:localhost", default)).RoomId);
        var e = await Assert.ThrowsAsync<MatrixException>(() => SecondClient.ResolveAliasAsync("#nowhere:localhost", default));
        Assert.Equal(HttpStatusCode.NotFound, e.Status);
    }

    [Fact]
    public async Task Account_data_never_set_is_null_and_a_write_reads_back()
    {
        Assert.Null(await AliceClient.TryGetAccountDataAsync(Alice.UserId, EventTypes.Direct, default));
        await AliceClient.SetAccountDataAsync(Alice.UserId, EventTypes.Direct, JsonDocument.Parse("""{"@bob:localhost":["!x:localhost"]}""").RootElement, default);
        var back = await AliceClient.TryGetAccountDataAsync(Alice.UserId, EventTypes.Direct, default);
        Assert.Equal("!x:localhost", back!.Value.GetProperty("@bob:localhost")[0].GetString());
    }

    [Fact]
    public async Task Uploaded_media_downloads_through_the_authenticated_api()
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        var mxc = await AliceClient.UploadAsync(png, "image/png", "qr.png", default);
        Assert.StartsWith("mxc://localhost/", mxc, StringComparison.Ordinal);
        var (data, type) = await SecondClient.DownloadAsync(mxc, default);
        Assert.Equal(png, data);
        Assert.Equal("image/png", type);
    }

    [Fact]
    public async Task Sync_sees_an_invite_then_a_message_arriving_during_the_long_poll()
    {
        var first = await SecondClient.SyncAsync(null, null, TimeSpan.Zero, default);
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { Invite = [Second.UserId], IsDirect = true }, default);
        var invited = await SecondClient.SyncAsync(first.NextBatch, null, TimeSpan.FromSeconds(5), default);
        var invite = invited.Rooms!.Invite![room].InviteState!.Events!.Single(e => e.Type == EventTypes.Member && e.StateKey == Second.UserId);
        Assert.True(invite.ContentBool("is_direct"));
        Assert.Equal(Alice.UserId, invite.Sender);

        await SecondClient.JoinAsync(room, null, null, default);
        var joined = await SecondClient.SyncAsync(invited.NextBatch, null, TimeSpan.Zero, default);
        var polling = SecondClient.SyncAsync(joined.NextBatch, null, TimeSpan.FromSeconds(25), default);
        await Task.Delay(200);
        await AliceClient.SendMessageAsync(room, "txn-hello", Text("hello bob"), default);
        var batch = await polling.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(batch.Rooms!.Join![room].Timeline!.Events!, e => e.ContentString("body") == "hello bob");
    }

    [Fact]
    public async Task A_refused_since_token_is_a_400()
    {
        var e = await Assert.ThrowsAsync<MatrixException>(() => AliceClient.SyncAsync("garbage", null, TimeSpan.Zero, default));
        Assert.Equal(HttpStatusCode.BadRequest, e.Status);
    }
}
