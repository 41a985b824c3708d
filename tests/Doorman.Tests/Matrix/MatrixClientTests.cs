using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Http;
using Doorman.Matrix.Rooms;
using Doorman.Sandbox.Homeserver;

namespace Doorman.Tests.Matrix;

/// <summary>The Matrix client against the sandbox homeserver over loopback HTTP; the sandbox enforces the spec's rules.</summary>
public sealed class MatrixClientTests : IAsyncLifetime
{
    private SandboxHomeserver _hs = null!;
    private SandboxUser _alice = null!;
    private SandboxUser _bob = null!;
    private MatrixClient _aliceClient = null!;
    private MatrixClient _bobClient = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxHomeserver.StartAsync();
        _alice = _hs.RegisterUser("alice");
        _bob = _hs.RegisterUser("bob");
        var fast = new MatrixClientOptions { TransientRetryDelay = TimeSpan.FromMilliseconds(50) };
        _aliceClient = MatrixClient.Create(_hs.Url, _alice.AccessToken, fast);
        _bobClient = MatrixClient.Create(_hs.Url, _bob.AccessToken, fast);
    }

    public async Task DisposeAsync()
    {
        _aliceClient.Dispose();
        _bobClient.Dispose();
        await _hs.DisposeAsync();
    }

    private static MessageContent Text(string body) => new() { MsgType = MessageContent.Text, Body = body };

    private int CountMessages(string roomId, string body) =>
        _hs.GetTimeline(roomId).Count(e => e.GetProperty("type").GetString() == EventTypes.Message
            && e.GetProperty("content").GetProperty("body").GetString() == body);

    [Fact]
    public async Task Whoami_names_the_tokens_owner() =>
        Assert.Equal(_alice.UserId, (await _aliceClient.WhoAmIAsync(default)).UserId);

    [Fact]
    public async Task An_unknown_token_is_reported_as_such()
    {
        using var client = MatrixClient.Create(_hs.Url, "not-a-token");
        var e = await Assert.ThrowsAsync<MatrixException>(() => client.WhoAmIAsync(default));
        Assert.Equal(HttpStatusCode.Unauthorized, e.Status);
        Assert.True(e.IsUnknownToken);
    }

    [Fact]
    public async Task Invite_join_and_kick_change_membership()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PrivateChat }, default);
        await _aliceClient.InviteAsync(room, _bob.UserId, "welcome", default);
        Assert.Equal(Membership.Invite, await _aliceClient.GetMembershipAsync(room, _bob.UserId, default));
        Assert.Equal(room, await _bobClient.JoinAsync(room, null, null, default));
        Assert.Equal(Membership.Join, _hs.GetMembership(room, _bob.UserId));
        await _aliceClient.KickAsync(room, _bob.UserId, "time is up", default);
        Assert.Equal(Membership.Leave, _hs.GetMembership(room, _bob.UserId));
        Assert.Equal("time is up", _hs.GetStateEvent(room, EventTypes.Member, _bob.UserId)!.Value.GetProperty("content").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_kick_below_the_required_level_is_refused_and_changes_nothing()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        var carol = _hs.RegisterUser("carol");
        using var carolClient = MatrixClient.Create(_hs.Url, carol.AccessToken);
        await _bobClient.JoinAsync(room, null, null, default);
        await carolClient.JoinAsync(room, null, null, default);

        var e = await Assert.ThrowsAsync<MatrixException>(() => _bobClient.KickAsync(room, carol.UserId, null, default));
        Assert.Equal(ErrorCodes.Forbidden, e.ErrorCode);
        Assert.Equal(Membership.Join, _hs.GetMembership(room, carol.UserId));
    }

    [Fact]
    public async Task The_same_transaction_id_sends_one_event()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        var first = await _aliceClient.SendMessageAsync(room, "txn-1", Text("once"), default);
        var second = await _aliceClient.SendMessageAsync(room, "txn-1", Text("once"), default);
        Assert.Equal(first, second);
        Assert.Equal(1, CountMessages(room, "once"));
    }

    [Fact]
    public async Task A_rate_limited_send_is_waited_out_and_still_goes_out_once()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        _hs.RateLimitNext(_alice.UserId, 2, TimeSpan.FromMilliseconds(700));
        var clock = Stopwatch.StartNew();
        await _aliceClient.SendMessageAsync(room, "txn-429", Text("patient"), default);
        // Two 429s asking for 0.7 s each (Retry-After rounds up to 1 s; the client takes the header first).
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.4), $"waited only {clock.Elapsed}");
        Assert.Equal(1, CountMessages(room, "patient"));
    }

    [Fact]
    public async Task Server_errors_on_a_send_are_retried_and_the_message_arrives_once()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        _hs.FailNext("/send/", 502, 2);
        await _aliceClient.SendMessageAsync(room, "txn-502", Text("persistent"), default);
        Assert.Equal(1, CountMessages(room, "persistent"));
    }

    [Fact]
    public async Task CreateRoom_is_not_retried_after_a_server_error_so_no_second_room_is_made()
    {
        _hs.FailNext("/createRoom", 500, 1);
        var e = await Assert.ThrowsAsync<MatrixException>(() => _aliceClient.CreateRoomAsync(new CreateRoomRequest(), default));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Status);
        Assert.Empty(await _aliceClient.GetJoinedRoomsAsync(default));
    }

    [Fact]
    public async Task Power_levels_and_creators_are_read_from_room_state()
    {
        var v11 = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { RoomVersion = "11" }, default);
        var power11 = await _aliceClient.GetRoomPowerAsync(v11, null, default);
        Assert.Equal(100, power11.LevelOf(_alice.UserId));
        Assert.True(power11.CanChangePowerLevels(_alice.UserId));
        Assert.False(power11.CanChangePowerLevels(_bob.UserId));

        var v12 = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { RoomVersion = "12" }, default);
        Assert.DoesNotContain(':', v12);
        var power12 = await _aliceClient.GetRoomPowerAsync(v12, null, default);
        Assert.True(power12.Creation.CreatorsHaveInfinitePower);
        Assert.Equal(RoomPower.Infinite, power12.LevelOf(_alice.UserId));
        Assert.False(power12.PowerLevels?.Users?.ContainsKey(_alice.UserId) ?? false);
    }

    [Fact]
    public async Task Missing_state_is_null_but_other_errors_throw()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest(), default);
        Assert.Null(await _aliceClient.TryGetStateAsync(room, EventTypes.Encryption, "", default));
        var e = await Assert.ThrowsAsync<MatrixException>(() => _bobClient.TryGetStateAsync(room, EventTypes.PowerLevels, "", default));
        Assert.Equal(ErrorCodes.Forbidden, e.ErrorCode);
    }

    [Fact]
    public async Task Aliases_resolve_and_unknown_ones_are_404()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { RoomAliasName = "lounge" }, default);
        Assert.Equal(room, (await _bobClient.ResolveAliasAsync("#lounge:localhost", default)).RoomId);
        var e = await Assert.ThrowsAsync<MatrixException>(() => _bobClient.ResolveAliasAsync("#nowhere:localhost", default));
        Assert.Equal(HttpStatusCode.NotFound, e.Status);
    }

    [Fact]
    public async Task Account_data_never_set_is_null_and_a_write_reads_back()
    {
        Assert.Null(await _aliceClient.TryGetAccountDataAsync(_alice.UserId, EventTypes.Direct, default));
        await _aliceClient.SetAccountDataAsync(_alice.UserId, EventTypes.Direct, JsonDocument.Parse("""{"@bob:localhost":["!x:localhost"]}""").RootElement, default);
        var back = await _aliceClient.TryGetAccountDataAsync(_alice.UserId, EventTypes.Direct, default);
        Assert.Equal("!x:localhost", back!.Value.GetProperty("@bob:localhost")[0].GetString());
    }

    [Fact]
    public async Task Uploaded_media_downloads_through_the_authenticated_api()
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        var mxc = await _aliceClient.UploadAsync(png, "image/png", "qr.png", default);
        Assert.StartsWith("mxc://localhost/", mxc, StringComparison.Ordinal);
        var (data, type) = await _bobClient.DownloadAsync(mxc, default);
        Assert.Equal(png, data);
        Assert.Equal("image/png", type);
    }

    [Fact]
    public async Task Sync_sees_an_invite_then_a_message_arriving_during_the_long_poll()
    {
        var first = await _bobClient.SyncAsync(null, null, TimeSpan.Zero, default);
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { Invite = [_bob.UserId], IsDirect = true }, default);
        var invited = await _bobClient.SyncAsync(first.NextBatch, null, TimeSpan.FromSeconds(5), default);
        var invite = invited.Rooms!.Invite![room].InviteState!.Events!.Single(e => e.Type == EventTypes.Member && e.StateKey == _bob.UserId);
        Assert.True(invite.ContentBool("is_direct"));
        Assert.Equal(_alice.UserId, invite.Sender);

        await _bobClient.JoinAsync(room, null, null, default);
        var joined = await _bobClient.SyncAsync(invited.NextBatch, null, TimeSpan.Zero, default);
        var polling = _bobClient.SyncAsync(joined.NextBatch, null, TimeSpan.FromSeconds(25), default);
        await Task.Delay(200);
        await _aliceClient.SendMessageAsync(room, "txn-hello", Text("hello bob"), default);
        var batch = await polling.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(batch.Rooms!.Join![room].Timeline!.Events!, e => e.ContentString("body") == "hello bob");
    }

    [Fact]
    public async Task A_refused_since_token_is_a_400()
    {
        var e = await Assert.ThrowsAsync<MatrixException>(() => _aliceClient.SyncAsync("garbage", null, TimeSpan.Zero, default));
        Assert.Equal(HttpStatusCode.BadRequest, e.Status);
    }
}
