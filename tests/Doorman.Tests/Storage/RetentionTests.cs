using Doorman.Access;
using Doorman.Scheduling;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>Retention (README "Retention"): what grows with use is forgotten after a while; pending work and the record never are.</summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Start);
    private ServiceProvider _services = null!;

    public async Task InitializeAsync() => _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time);

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Task<long> CountAsync(string sql) => Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>(sql), default);

    [Fact]
    public async Task Finished_rows_are_pruned_after_their_retention_and_pending_ones_never()
    {
        // Day 0: one of each, finished; and one of each still pending.
        await Db.WriteAsync(async tx =>
        {
            var now = _time.GetUtcNow();
            await _services.GetRequiredService<HandledEvents>().MarkAsync(tx, "$old", "!r:hs", now);
            var messages = _services.GetRequiredService<MessageStore>();
            await messages.EnqueueAsync(tx, "!r:hs", null, MessageKind.Message, "{}", now);
            await messages.EnqueueAsync(tx, "!r:hs", null, MessageKind.Message, "{}", now);
            await tx.ExecuteAsync("UPDATE outgoing_messages SET status = 'sent' WHERE id = (SELECT MIN(id) FROM outgoing_messages)");
            var actions = _services.GetRequiredService<MembershipActionStore>();
            await actions.EnqueueAsync(tx, "!r:hs", "@a:hs", MembershipActionKind.Invite, null, "test", now);
            await actions.EnqueueAsync(tx, "!r:hs", "@b:hs", MembershipActionKind.Invite, null, "test", now);
            await tx.ExecuteAsync("UPDATE membership_actions SET status = 'done' WHERE user_id = '@a:hs'");
            var inbox = _services.GetRequiredService<InboxStore>();
            await inbox.AddAsync(tx, "!r:hs", InboxKind.Event, "$done", "{}", now);
            await inbox.AddAsync(tx, "!r:hs", InboxKind.Event, "$quarantined", "{}", now);
            await inbox.AddAsync(tx, "!r:hs", InboxKind.Event, "$pending", "{}", now);
            await tx.ExecuteAsync("UPDATE inbox SET status = 'done' WHERE event_id = '$done'");
            await tx.ExecuteAsync("UPDATE inbox SET status = 'quarantined' WHERE event_id = '$quarantined'");
        }, default);

        // A week and a bit later: only handled inbox items are gone.
        _time.Advance(PruneJob.KeepDone + TimeSpan.FromHours(1));
        await RunAsync();
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM inbox WHERE event_id = '$done'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM inbox WHERE event_id = '$quarantined'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM handled_events"));

        // Past thirty days: every finished row is gone, every pending one is still there.
        _time.Advance(PruneJob.Keep);
        await RunAsync();
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM handled_events"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM inbox WHERE status <> 'pending'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM inbox WHERE status = 'pending'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM outgoing_messages WHERE status = 'pending'"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM outgoing_messages WHERE status <> 'pending'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM membership_actions WHERE status = 'pending'"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM membership_actions WHERE status <> 'pending'"));
    }

    private async Task RunAsync() =>
        await ActivatorUtilities.CreateInstance<PruneJob>(_services).Execute(null!, default);
}
