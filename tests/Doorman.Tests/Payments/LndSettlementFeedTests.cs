using Doorman.Access;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.Lightning;
using Microsoft.Extensions.Time.Testing;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

/// <summary>The settlement feed: resume by cursor, catch-up, and the faults the sandbox can inject.</summary>
public sealed class LndSettlementFeedTests
{
    [Fact]
    public async Task A_first_start_catches_up_on_earlier_settlements_then_streams_new_ones()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 3);
        await node.PayAsync(invoices[0].Bolt11);
        await node.PayAsync(invoices[1].Bolt11);

        await using var feed = await FeedReader.OpenAsync(backend, cursor: null);
        var caughtUp = await feed.NextAsync(2);
        await node.PayAsync(invoices[2].Bolt11);
        var live = await feed.NextAsync();

        Assert.Equal([invoices[0].Reference, invoices[1].Reference], caughtUp.Select(u => u.Reference));
        Assert.All(caughtUp, u => Assert.Equal(InvoiceState.Settled, u.State));
        Assert.Equal(invoices[2].Reference, live.Reference);
        Assert.Equal(new LndFeedCursor(3, 3, 2), LndFeedCursor.Parse(live.Cursor));
        Assert.True(await feed.IsQuietAsync());
    }

    [Fact]
    public async Task Resuming_from_a_cursor_replays_exactly_the_later_settlements()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 5);
        string cursor;
        await using (var first = await FeedReader.OpenCaughtUpAsync(backend, null))
        {
            await node.PayAsync(invoices[0].Bolt11);
            await node.PayAsync(invoices[1].Bolt11);
            cursor = (await first.NextAsync(2))[^1].Cursor!;
        }
        await node.PayAsync(invoices[3].Bolt11);
        await node.PayAsync(invoices[2].Bolt11);

        await using var second = await FeedReader.OpenAsync(backend, cursor);
        var replayed = await second.NextAsync(2);

        Assert.Equal(
            new[] { invoices[2].Reference, invoices[3].Reference }.Order(),
            replayed.Select(u => u.Reference).Order());
        Assert.True(await second.IsQuietAsync());
        await node.PayAsync(invoices[4].Bolt11);
        Assert.Equal(invoices[4].Reference, (await second.NextAsync()).Reference);
    }

    [Fact]
    public async Task Each_update_carries_a_cursor_that_resumes_right_after_it()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 3);
        await using var feed = await FeedReader.OpenCaughtUpAsync(backend, null);
        foreach (var invoice in invoices)
            await node.PayAsync(invoice.Bolt11);
        var updates = await feed.NextAsync(3);

        await using var resumed = await FeedReader.OpenAsync(backend, updates[1].Cursor);

        Assert.Equal(invoices[2].Reference, (await resumed.NextAsync()).Reference);
        Assert.True(await resumed.IsQuietAsync());
    }

    [Fact]
    public async Task A_dropped_stream_fails_the_feed_transiently_and_reopening_loses_nothing()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 3);
        string cursor;
        await using (var feed = await FeedReader.OpenCaughtUpAsync(backend, null))
        {
            await node.PayAsync(invoices[0].Bolt11);
            cursor = (await feed.NextAsync()).Cursor!;

            node.DropStreams();
            var error = await feed.FailureAsync();

            Assert.True(error.IsTransient);
            Assert.Contains("dropped the stream", error.Message, StringComparison.Ordinal);
        }
        await node.PayAsync(invoices[1].Bolt11); // while the bot is not listening

        await using var reopened = await FeedReader.OpenAsync(backend, cursor);
        var missed = await reopened.NextAsync();
        await node.PayAsync(invoices[2].Bolt11);
        var live = await reopened.NextAsync();

        Assert.Equal(invoices[1].Reference, missed.Reference);
        Assert.Equal(invoices[2].Reference, live.Reference);
        Assert.True(await reopened.IsQuietAsync());
    }

    [Fact]
    public async Task A_restarting_node_fails_the_feed_and_reopening_loses_nothing()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 3);
        await using var feed = await FeedReader.OpenCaughtUpAsync(backend, null);
        await node.PayAsync(invoices[0].Bolt11);
        var cursor = (await feed.NextAsync()).Cursor;

        await node.RestartAsync();
        var error = await feed.FailureAsync();
        await node.PayAsync(invoices[1].Bolt11);
        await using var reopened = await FeedReader.OpenAsync(backend, cursor);

        Assert.True(error.IsTransient);
        Assert.Equal(invoices[1].Reference, (await reopened.NextAsync()).Reference);
    }

    [Fact]
    public async Task A_gap_in_settle_indexes_is_followed_and_resumed_across()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 4);
        string cursor;
        await using (var feed = await FeedReader.OpenCaughtUpAsync(backend, null))
        {
            await node.PayAsync(invoices[0].Bolt11);
            node.SkipSettleIndex(5);
            await node.PayAsync(invoices[1].Bolt11);
            var updates = await feed.NextAsync(2);
            cursor = updates[1].Cursor!;

            Assert.Equal(7UL, LndFeedCursor.Parse(cursor).SettleIndex);
            Assert.Equal(7UL, node.Invoices[1].SettleIndex);
        }
        await node.PayAsync(invoices[2].Bolt11);

        await using var reopened = await FeedReader.OpenAsync(backend, cursor);

        Assert.Equal(invoices[2].Reference, (await reopened.NextAsync()).Reference);
        Assert.True(await reopened.IsQuietAsync());
        await node.PayAsync(invoices[3].Bolt11);
        var last = await reopened.NextAsync();
        Assert.Equal(invoices[3].Reference, last.Reference);
        Assert.Equal(9UL, LndFeedCursor.Parse(last.Cursor).SettleIndex);
    }

    [Fact]
    public async Task After_a_restart_that_renumbered_indexes_nothing_is_missed()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 4);
        string cursor;
        await using (var feed = await FeedReader.OpenCaughtUpAsync(backend, null))
        {
            await node.PayAsync(invoices[0].Bolt11);
            node.SkipSettleIndex(3);
            await node.PayAsync(invoices[1].Bolt11);
            cursor = (await feed.NextAsync(2))[1].Cursor!; // settle_index 5
        }

        await node.RestartAsync(resetIndexes: true);
        await node.PayAsync(invoices[2].Bolt11); // settle_index 3 now: at or below the stored 5

        await using var reopened = await FeedReader.OpenAsync(backend, cursor);
        var rescanned = await reopened.NextAsync(3);
        await node.PayAsync(invoices[3].Bolt11);
        var live = await reopened.NextAsync();

        Assert.Equal(3UL, node.Invoices[2].SettleIndex);
        Assert.Contains(rescanned, u => u.Reference == invoices[2].Reference);
        Assert.Equal(invoices[3].Reference, live.Reference);
        Assert.Equal(new LndFeedCursor(4, 4, 3), LndFeedCursor.Parse(live.Cursor));
    }

    [Fact]
    public async Task A_cursor_beyond_a_rebuilt_nodes_newest_invoice_starts_over()
    {
        string cursor;
        await using (var old = await SandboxLightningNode.StartAsync())
        {
            using var oldBackend = Backend(old);
            var oldInvoices = await CreateAsync(oldBackend, 3);
            foreach (var invoice in oldInvoices)
                await old.PayAsync(invoice.Bolt11);
            await using var feed = await FeedReader.OpenAsync(oldBackend, null);
            cursor = (await feed.NextAsync(3))[^1].Cursor!; // from the catch-up: watermark 3, no settle_index yet
        }
        await using var rebuilt = await SandboxLightningNode.StartAsync();
        using var backend = Backend(rebuilt);
        var fresh = await CreateAsync(backend, 2);
        await rebuilt.PayAsync(fresh[0].Bolt11);

        await using var reopened = await FeedReader.OpenAsync(backend, cursor);

        Assert.Equal(new LndFeedCursor(0, 0, 3), LndFeedCursor.Parse(cursor));
        Assert.Equal(fresh[0].Reference, (await reopened.NextAsync()).Reference);
    }

    [Fact]
    public async Task The_watermark_passes_canceled_invoices_and_stops_at_the_first_open_one()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = clock });
        using var backend = Backend(node, time: clock);
        var expiring = await backend.CreateInvoiceAsync(Request(expirySeconds: 60), CancellationToken.None);
        var paid = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        var open = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        var paidLater = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(60));
        await node.PayAsync(paid.Bolt11);
        await node.PayAsync(paidLater.Bolt11);

        await using var feed = await FeedReader.OpenAsync(backend, null);
        var updates = await feed.NextAsync(2);

        Assert.Equal(InvoiceState.Canceled, (await backend.LookupInvoiceAsync(expiring.Reference, CancellationToken.None)).State);
        Assert.Equal([paid.Reference, paidLater.Reference], updates.Select(u => u.Reference));
        Assert.Equal(new LndFeedCursor(0, 0, 2), LndFeedCursor.Parse(updates[0].Cursor));
        Assert.Equal(new LndFeedCursor(0, 0, 2), LndFeedCursor.Parse(updates[1].Cursor));
        Assert.Equal(open.Reference, node.Invoices[2].PaymentHash);
    }

    [Fact]
    public async Task A_node_with_no_invoices_yet_still_delivers_the_first_settlement()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        await using var feed = await FeedReader.OpenCaughtUpAsync(backend, null);
        var invoice = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        await node.PayAsync(invoice.Bolt11);

        Assert.Equal(invoice.Reference, (await feed.NextAsync()).Reference);
    }

    [Fact]
    public async Task A_canceled_newest_invoice_does_not_stall_opening_the_feed()
    {
        // lnd drops a replayed add of a canceled invoice, so the replay that makes the stream speak must use an
        // open or settled one. With a fake clock nothing else would end the wait.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = clock });
        using var backend = Backend(node, time: clock);
        var open = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        await backend.CreateInvoiceAsync(Request(expirySeconds: 60), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(60));

        var opening = FeedReader.OpenAsync(backend, null);
        Assert.Same(opening, await Task.WhenAny(opening, Task.Delay(Patience)));
        await using var feed = await opening;
        await node.PayAsync(open.Bolt11);

        Assert.Equal(open.Reference, (await feed.NextAsync()).Reference);
    }

    [Fact]
    public async Task Overpayment_reaches_the_feed()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var invoices = await CreateAsync(backend, 2);

        await using var feed = await FeedReader.OpenCaughtUpAsync(backend, null);
        await node.PayAsync(invoices[1].Bolt11, 30_000_000);
        var update = await feed.NextAsync();

        Assert.Equal((21_000_000L, 30_000_000L), (update.AmountMsat, update.PaidMsat));
    }

    [Fact]
    public async Task A_cursor_from_elsewhere_is_refused()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        await Assert.ThrowsAsync<ArgumentException>(() => backend.OpenSettlementFeedAsync("btcpay:2026-11-25", CancellationToken.None));
    }

    [Theory]
    [InlineData("v1:0:0:0", 0UL, 0UL, 0UL)]
    [InlineData("v1:12:40:37", 12UL, 40UL, 37UL)]
    [InlineData("v1:18446744073709551615:1:2", ulong.MaxValue, 1UL, 2UL)]
    public void Cursors_round_trip(string text, ulong settle, ulong settleAdd, ulong watermark)
    {
        var cursor = LndFeedCursor.Parse(text);

        Assert.Equal(new LndFeedCursor(settle, settleAdd, watermark), cursor);
        Assert.Equal(text, cursor.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("v2:1:1:1")]
    [InlineData("v1:1:1")]
    [InlineData("v1:-1:1:1")]
    [InlineData("v1:a:1:1")]
    public void Malformed_cursors_are_refused(string text) =>
        Assert.Throws<ArgumentException>(() => LndFeedCursor.Parse(text));

    private static async Task<List<CreatedInvoice>> CreateAsync(LndPaymentBackend backend, int count)
    {
        var created = new List<CreatedInvoice>();
        for (var i = 0; i < count; i++)
            created.Add(await backend.CreateInvoiceAsync(Request(21_000_000, $"order {i}"), CancellationToken.None));
        return created;
    }
}
