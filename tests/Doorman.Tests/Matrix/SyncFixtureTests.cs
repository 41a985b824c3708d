using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Doorman.Tests.Fixtures;

namespace Doorman.Tests.Matrix;

/// <summary>
/// Our sync model reads real Synapse 1.160 responses (<c>Fixtures/sync</c>, recorded by
/// <see cref="SyncFixtureRecorder"/>; <c>manifest.json</c> names the users and rooms in each). The comments
/// note what Synapse does that a handler must be ready for.
/// </summary>
public sealed class SyncFixtureTests
{
    [Fact]
    public void A_DM_invite_carries_is_direct_and_the_inviter_as_sender_amid_stripped_state()
    {
        var (sync, m) = Load("invite-direct");
        var invited = sync.Rooms!.Invite![m.Room];
        var events = invited.InviteState!.Events!;

        var invite = Assert.Single(events, e => e.Type == EventTypes.Member && e.StateKey == m.User);
        Assert.Equal(Membership.Invite, invite.ContentString("membership"));
        Assert.True(invite.ContentBool("is_direct"));
        Assert.Equal(m["sender"], invite.Sender);
        Assert.NotNull(invite.EventId); // the invite itself is a full event...
        var create = Assert.Single(events, e => e.Type == EventTypes.Create);
        Assert.Null(create.EventId); // ...the stripped state around it is not
        Assert.Equal(0, create.OriginServerTs);
        Assert.Equal(m["sender"], create.Sender);
        Assert.Null(sync.Rooms.Join);
    }

    [Fact]
    public void Joining_moves_the_room_to_join_with_its_history_in_a_limited_timeline()
    {
        var (sync, m) = Load("join");
        Assert.Null(sync.Rooms!.Invite);
        var timeline = sync.Rooms.Join![m.Room].Timeline!;
        var events = timeline.Events!;

        // Synapse sends a newly joined room's whole (short) history in the timeline, flagged limited, with the
        // state section empty: the backlog before our join must not be taken for new commands.
        Assert.True(timeline.Limited);
        Assert.NotNull(timeline.PrevBatch);
        Assert.Equal(EventTypes.Create, events[0].Type);
        var join = events[^1];
        Assert.Equal((EventTypes.Member, m.User, Membership.Join), (join.Type, join.StateKey, join.ContentString("membership")));
        Assert.Contains(events, e => e.Type == EventTypes.Member && e.StateKey == m.User && e.ContentString("membership") == Membership.Invite
            && e.Sender == m["inviter"] && e.ContentBool("is_direct"));
        Assert.Contains(events, e => e.Type == EventTypes.PowerLevels && e.IsState);
    }

    [Fact]
    public void Account_data_brings_m_direct()
    {
        var (sync, m) = Load("account-data");
        var direct = Assert.Single(sync.AccountData!.Events!);
        Assert.Equal(EventTypes.Direct, direct.Type);
        Assert.Equal([m.Room], direct.Content.GetProperty(m["direct_user"]).EnumerateArray().Select(r => r.GetString()));
        Assert.Null(sync.Rooms);
    }

    [Fact]
    public void A_knock_reaches_joined_members_as_a_member_event_with_the_reason()
    {
        var (sync, m) = Load("knock-seen-by-member");
        var room = sync.Rooms!.Join![m.Room];
        var knock = Assert.Single(room.Timeline!.Events!);

        Assert.Equal(EventTypes.Member, knock.Type);
        Assert.Equal(m["knocker"], knock.StateKey);
        Assert.Equal(m["knocker"], knock.Sender);
        Assert.Equal(Membership.Knock, knock.ContentString("membership"));
        Assert.Equal(m["reason"], knock.ContentString("reason"));
        Assert.DoesNotContain(':', m.Room); // a room v12 id: no server part

        // With lazy-loaded members Synapse repeats the same event in state: handle each event id once.
        var repeated = Assert.Single(room.State!.Events!);
        Assert.Equal(knock.EventId, repeated.EventId);
    }

    [Fact]
    public void The_knocker_sees_the_room_under_knock_with_stripped_state_and_the_knock()
    {
        var (sync, m) = Load("knock-seen-by-knocker");
        var events = sync.Rooms!.Knock![m.Room].KnockState!.Events!;

        Assert.Equal("knock", Assert.Single(events, e => e.Type == EventTypes.JoinRules).ContentString("join_rule"));
        Assert.Equal("12", Assert.Single(events, e => e.Type == EventTypes.Create).ContentString("room_version"));
        var own = Assert.Single(events, e => e.Type == EventTypes.Member && e.StateKey == m.User);
        Assert.Equal(Membership.Knock, own.ContentString("membership"));
        Assert.Equal(m["reason"], own.ContentString("reason"));
        Assert.Null(sync.Rooms.Join);
    }

    [Fact]
    public void Someone_leaving_is_a_leave_member_event_they_sent_themselves()
    {
        var (sync, m) = Load("leave");
        var leave = Assert.Single(sync.Rooms!.Join![m.Room].Timeline!.Events!);
        Assert.Equal((m["leaver"], m["leaver"]), (leave.Sender, leave.StateKey));
        Assert.Equal(Membership.Leave, leave.ContentString("membership"));
        Assert.Equal(m["reason"], leave.ContentString("reason"));
    }

    [Fact]
    public void A_kicked_member_sees_the_room_under_leave_with_the_kicker_and_the_reason()
    {
        var (sync, m) = Load("kick");
        Assert.Null(sync.Rooms!.Join);
        var kick = Assert.Single(sync.Rooms.Leave![m.Room].Timeline!.Events!);
        Assert.Equal(m.User, kick.StateKey);
        Assert.Equal(m["kicker"], kick.Sender); // sender ≠ state_key: a kick, not a leave
        Assert.Equal(Membership.Leave, kick.ContentString("membership"));
        Assert.Equal(m["reason"], kick.ContentString("reason"));
    }

    [Fact]
    public void A_timeline_keeps_the_order_and_our_own_echo_carries_the_transaction_id()
    {
        var (sync, m) = Load("timeline");
        var timeline = sync.Rooms!.Join![m.Room].Timeline!;
        Assert.False(timeline.Limited);
        var events = timeline.Events!;

        Assert.Equal(["hello everyone", "!gate status", "Lobby is not gated."], events.Select(e => e.ContentString("body")));
        Assert.All(events, e => Assert.Equal(EventTypes.Message, e.Type));
        var command = events[1];
        Assert.Equal((m["command_event"], m["sender"], MessageContent.Text), (command.EventId, command.Sender, command.ContentString("msgtype")));
        Assert.Null(command.UnsignedData?.TransactionId); // someone else's event
        var notice = events[2];
        Assert.Equal((m["notice_event"], m.User, MessageContent.Notice), (notice.EventId, notice.Sender, notice.ContentString("msgtype")));
        Assert.Equal(m["transaction_id"], notice.UnsignedData?.TransactionId);
        Assert.Equal("<b>Lobby</b> is not gated.", notice.ContentString("formatted_body"));
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.OriginServerTs <= p.Second.OriginServerTs));
    }

    [Fact]
    public void More_events_than_the_filter_limit_give_a_limited_timeline_with_prev_batch()
    {
        var (sync, m) = Load("limited");
        var timeline = sync.Rooms!.Join![m.Room].Timeline!;
        var limit = int.Parse(m["timeline_limit"], System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(timeline.Limited);
        Assert.False(string.IsNullOrEmpty(timeline.PrevBatch));
        Assert.NotEqual(sync.NextBatch, timeline.PrevBatch);
        Assert.Equal(limit, timeline.Events!.Count);
        Assert.Equal(m["sent"] + " of " + m["sent"], timeline.Events[^1].ContentString("body")!.Replace("burst message ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_recorded_fixture_parses_has_a_manifest_entry_and_holds_no_access_token()
    {
        var manifest = SyncFixtures.Manifest;
        var names = Directory.GetFiles(SyncFixtures.Directory, "*.json").Select(Path.GetFileNameWithoutExtension)
            .Where(n => n != "manifest" && !n!.StartsWith("synthetic", StringComparison.Ordinal)).ToList();
        Assert.Equal(9, names.Count);
        foreach (var name in names)
        {
            Assert.True(manifest.ContainsKey(name!), $"{name}.json has no manifest entry");
            var text = SyncFixtures.Text(name!);
            Assert.DoesNotContain("syt_", text, StringComparison.Ordinal); // Synapse's access token prefix
            Assert.DoesNotContain("access_token", text, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(SyncFixtures.Parse(name!).NextBatch), name);
        }
    }

    private static (SyncResponse Sync, Entry Manifest) Load(string name) => (SyncFixtures.Parse(name), new Entry(name));

    /// <summary>A manifest entry: the syncing user, the room, and the other ids by name.</summary>
    private sealed class Entry(string name)
    {
        private readonly System.Text.Json.Nodes.JsonObject _entry = SyncFixtures.Entry(name);

        public string User => this["user"];

        public string Room => this["room"];

        public string this[string key] => _entry[key]?.ToString() ?? throw new InvalidDataException($"manifest entry has no '{key}'");
    }
}
